//! A sandbox to run the real `rolepick` binary and the aws CLI in: a temp
//! HOME with the walkthrough's `~/.aws` files, a cache dir, XDG dirs, and an
//! environment that holds nothing of the person running the tests.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::moto::Provision;
use super::path_var;

/// A temp HOME with the walkthrough's `~/.aws` files, a cache dir, XDG dirs, and
/// builders for `rolepick` and `aws` commands that see only this world.
pub struct Sandbox {
    dir: TempDir,
    /// The sandbox HOME (`<tmp>/home`).
    pub home: PathBuf,
    /// `ROLEPICK_CACHE_DIR` (`<tmp>/cache`); not created: rolepick must create it 0700.
    pub cache: PathBuf,
    /// Where `AWS_ENDPOINT_URL` points (moto or a proxy in front of it).
    pub endpoint: String,
    pub prov: Provision,
}

impl Sandbox {
    pub fn new(endpoint: &str, prov: &Provision) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("rolepick-sandbox-")
            .tempdir()
            .expect("sandbox temp dir");
        let home = dir.path().join("home");
        let cache = dir.path().join("cache");
        let mut private_dir = fs::DirBuilder::new();
        private_dir.recursive(true).mode(0o700);
        for d in [
            home.join(".aws"),
            dir.path().join("xdg/config"),
            dir.path().join("xdg/cache"),
            dir.path().join("xdg/runtime"),
        ] {
            private_dir.create(&d).expect("create sandbox dir");
        }
        let sb = Sandbox {
            dir,
            home,
            cache,
            endpoint: endpoint.to_owned(),
            prov: prov.clone(),
        };
        sb.write_aws_file("credentials", &prov.credentials_file());
        sb.write_aws_file("config", &prov.config_file());
        sb
    }

    /// Replace `~/.aws/<name>` (created 0600).
    pub fn write_aws_file(&self, name: &str, text: &str) {
        let path = self.home.join(".aws").join(name);
        let _ = fs::remove_file(&path);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `expire.py` in the sandbox and returns its path: run with
    /// python3, it marks every cached MFA session and role credential
    /// expired, as hours would.
    pub fn expire_cache_script(&self) -> PathBuf {
        let path = self.root().join("expire.py");
        let py = format!(
            "import json,pathlib\nfor p in pathlib.Path('{}').rglob('*'):\n  try: v=json.loads(p.read_text())\n  except Exception: continue\n  if isinstance(v,dict) and v.get('kind') in ('session','role'):\n    v['expiration']='2001-01-01T00:00:00Z'; p.write_text(json.dumps(v))\n",
            self.cache.display()
        );
        std::fs::write(&path, py).expect("write expire.py");
        path
    }

    /// The environment every command in the sandbox gets (and nothing else).
    pub fn base_env(&self) -> Vec<(OsString, OsString)> {
        let x = |p: &str| self.dir.path().join(p).into_os_string();
        vec![
            ("PATH".into(), path_var()),
            ("HOME".into(), self.home.clone().into_os_string()),
            ("TERM".into(), "dumb".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone().into()),
            (
                "ROLEPICK_CACHE_DIR".into(),
                self.cache.clone().into_os_string(),
            ),
            ("XDG_CONFIG_HOME".into(), x("xdg/config")),
            ("XDG_CACHE_HOME".into(), x("xdg/cache")),
            ("XDG_RUNTIME_DIR".into(), x("xdg/runtime")),
        ]
    }

    /// The environment for running the aws CLI in the sandbox.
    pub fn aws_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = self.base_env();
        // ROLEPICK_CACHE_DIR stays: a `credential_process = rolepick ...` profile
        // run by the aws CLI must find the sandbox cache.
        // Keep the aws CLI quiet and deterministic.
        env.push(("AWS_PAGER".into(), "".into()));
        env.push(("AWS_DEFAULT_OUTPUT".into(), "json".into()));
        env
    }

    /// The `rolepick` binary under test, in the sandbox: stdin closed, no
    /// controlling terminal (so a prompt on /dev/tty fails instead of hanging on
    /// the developer's terminal), killed after 120 s.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_cmd());
        c.timeout(Duration::from_secs(120));
        c
    }

    /// Same as [`Sandbox::cmd`] but a plain `std::process::Command` (for spawning
    /// several at once); stdin is /dev/null.
    pub fn std_cmd(&self) -> Command {
        self.cmd_of(Path::new(env!("CARGO_BIN_EXE_rolepick")))
    }

    /// [`Sandbox::std_cmd`] for another copy of a rolepick program.
    pub fn cmd_of(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .envs(self.base_env())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        detach_from_tty(&mut c);
        c
    }

    /// The aws CLI in the sandbox, stdin closed.
    pub fn aws(&self) -> assert_cmd::Command {
        let mut c = Command::new("aws");
        c.env_clear()
            .envs(self.aws_env())
            .current_dir(self.dir.path());
        detach_from_tty(&mut c);
        let mut c = assert_cmd::Command::from_std(c);
        c.timeout(Duration::from_secs(120));
        c
    }

    /// Dates `source`'s key `days` days (and a minute) back in the vault
    /// index, which holds no secret.
    pub fn date_vault_key(&self, source: &str, days: u64) {
        let index = self.home.join(".local/share/rolepick/vault-index.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(&index).expect("the vault index")).unwrap();
        let then = std::time::SystemTime::now() - Duration::from_secs(days * 86_400 + 60);
        v["sources"][source]["added"] = humantime::format_rfc3339_seconds(then).to_string().into();
        fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
    }

    /// Makes the last key-age check of `source` a day old (25 h), so that
    /// the next run checks again.
    pub fn age_key_check_by_a_day(&self, source: &str) {
        fs::File::options()
            .write(true)
            .open(
                self.cache
                    .join(rolepick::admin::rotate::key_age_stamp(source)),
            )
            .expect("the key-age stamp")
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(25 * 3600))
            .unwrap();
    }

    /// The cache file of `profile`'s role credentials (named as rolepick
    /// names it: a readable prefix plus a hash of the exact name).
    pub fn role_cache_file(&self, profile: &str) -> PathBuf {
        self.cache
            .join(format!("role-{}.json", rolepick::cache::file_stem(profile)))
    }

    /// Every regular file under the cache dir.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = fs::read_dir(dir) else { return };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.cache, &mut out);
        out.sort();
        out
    }
}

/// Run the child in a new session: it has no controlling terminal, so opening
/// /dev/tty fails (ENXIO) rather than reading from whoever runs `cargo test`.
fn detach_from_tty(c: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only calls setsid(2),
    // which is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            rustix::process::setsid().map_err(io::Error::from)?;
            Ok(())
        });
    }
}
