//! `moto_server` on a free loopback port (the real peer for STS and IAM) and
//! `scripts/moto_provision.py`'s IAM world in it: the user `primary` with an
//! MFA device and a key, and a role per profile in three accounts.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tempfile::TempDir;

use super::{kill_group, manifest_dir, path_var, tail};

const MOTO_START_DEADLINE: Duration = Duration::from_secs(60);

/// A `moto_server` on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Moto {
    /// Start moto and wait until it answers HTTP. Panics with the server log if it
    /// does not come up. `$MOTO_SERVER` overrides the program name.
    pub fn start() -> Moto {
        let program = std::env::var_os("MOTO_SERVER").unwrap_or_else(|| "moto_server".into());
        let dir = tempfile::Builder::new()
            .prefix("rolepick-moto-")
            .tempdir()
            .expect("temp dir for moto");
        let log_path = dir.path().join("moto.log");
        // Port 0: moto binds a port the kernel picks and prints it. Choosing a free
        // port first and passing it races with every other test doing the same:
        // a moto that lost the race exits, and its test talks to the winner's.
        let log = fs::File::create(&log_path).expect("moto log file");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log fd"))
            .stderr(log)
            .process_group(0)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!(
                "could not run {program:?} ({e}); install it with \
                 `pip install 'moto[server]'` or run ./scripts/test"
            ),
        };
        let up = bound_port(&log_path, &mut child, MOTO_START_DEADLINE)
            .and_then(|port| wait_http(port, &mut child, MOTO_START_DEADLINE).map(|()| port));
        match up {
            Ok(port) => Moto { child, port, dir },
            Err(e) => {
                kill_group(&mut child);
                panic!(
                    "moto_server did not come up: {e}\n--- {} (tail) ---\n{}",
                    log_path.display(),
                    tail(&log_path, 30)
                )
            }
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("moto.log")
    }

    /// Run `scripts/moto_provision.py` against this server (directly, not through
    /// any proxy) and parse what it prints.
    pub fn provision(&self) -> Provision {
        let out = Command::new("python3")
            .arg(manifest_dir().join("scripts/moto_provision.py"))
            .args(["--endpoint", &self.endpoint()])
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run python3 scripts/moto_provision.py");
        assert!(
            out.status.success(),
            "moto_provision.py failed ({}):\n{}\n--- moto log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log_path(), 30)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "moto_provision.py printed no valid JSON ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// The port moto says it runs on (`* Running on http://127.0.0.1:PORT`), read
/// from its log until it appears, the child exits, or the deadline passes.
fn bound_port(log: &std::path::Path, child: &mut Child, deadline: Duration) -> Result<u16, String> {
    const MARK: &str = "Running on http://127.0.0.1:";
    let start = Instant::now();
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split(MARK).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(port) = digits.parse::<u16>() {
                if port != 0 && rest.len() > digits.len() {
                    return Ok(port);
                }
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("moto_server exited early with {status}"));
        }
        if start.elapsed() > deadline {
            return Err(format!("moto_server printed no port within {deadline:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Poll `GET /moto-api/` until it answers, the child exits, or the deadline passes.
fn wait_http(port: u16, child: &mut Child, deadline: Duration) -> Result<(), String> {
    let start = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("moto_server exited early with {status}"));
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = format!(
                "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            );
            let mut head = [0u8; 12];
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_exact(&mut head).is_ok()
                && head.starts_with(b"HTTP/1.")
            {
                return Ok(());
            }
        }
        if start.elapsed() > deadline {
            return Err(format!("no HTTP answer on {addr} within {deadline:?}"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// What `scripts/moto_provision.py` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct Provision {
    pub region: String,
    pub user_arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub mfa_serial: String,
    pub account_ids: Vec<String>,
    pub roles: Vec<ProvisionedRole>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProvisionedRole {
    pub profile: String,
    pub account_id: String,
    pub role_name: String,
    pub role_arn: String,
    pub duration_seconds: Option<String>,
}

impl ProvisionedRole {
    /// The start of the ARN `sts:GetCallerIdentity` shows for a session of
    /// this role: `arn:aws:sts::ACCOUNT:assumed-role/NAME/`.
    pub fn assumed_arn_prefix(&self) -> String {
        format!(
            "arn:aws:sts::{}:assumed-role/{}/",
            self.account_id, self.role_name
        )
    }
}

impl Provision {
    pub fn role(&self, profile: &str) -> &ProvisionedRole {
        self.roles
            .iter()
            .find(|r| r.profile == profile)
            .unwrap_or_else(|| panic!("no provisioned role for profile {profile:?}"))
    }

    /// `~/.aws/credentials` as the walkthrough writes it.
    pub fn credentials_file(&self) -> String {
        format!(
            "[primary]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            self.access_key_id, self.secret_access_key
        )
    }

    /// [`Provision::config_file`] with `profile`'s `duration_seconds` set to
    /// `secs` (replacing any it had).
    pub fn config_file_with_duration(&self, profile: &str, secs: u32) -> String {
        let header = format!("[profile {profile}]");
        self.config_file()
            .split("\n\n")
            .map(|sec| {
                if sec.starts_with(&header) {
                    let mut s: String = sec
                        .lines()
                        .filter(|l| !l.starts_with("duration_seconds"))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    s.push_str(&format!("duration_seconds = {secs}\n"));
                    s
                } else {
                    sec.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// `~/.aws/config` as the walkthrough writes it; same text as
    /// `moto_provision.py --write-home` (a test checks that).
    pub fn config_file(&self) -> String {
        let mut sections = vec![format!("[profile primary]\nregion = {}\n", self.region)];
        for r in &self.roles {
            let mut s = format!(
                "[profile {}]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\nregion = {}\n",
                r.profile, r.role_arn, self.mfa_serial, self.region
            );
            if let Some(d) = &r.duration_seconds {
                let _ = writeln!(s, "duration_seconds = {d}");
            }
            sections.push(s);
        }
        sections.join("\n")
    }
}
