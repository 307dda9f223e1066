//! The keyring backend against a real Secret Service: gnome-keyring-daemon
//! on a private D-Bus session bus, with the sandbox's HOME (so its keyring
//! file lives in the sandbox). The whole life of a key: import from
//! ~/.aws/credentials, `exec` against moto with the key only in the
//! keychain, rotation, removal.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{show, text, Stack, MFA_CODE};

/// dbus-daemon plus gnome-keyring-daemon, both stopped on drop.
struct SecretService {
    bus: Child,
    keyring: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl SecretService {
    /// Starts both daemons for a user whose home is `home`; `None` (the test
    /// is skipped) where they are not installed: scripts/test installs them.
    fn start(home: &Path) -> Option<SecretService> {
        if !have("dbus-daemon") || !have("gnome-keyring-daemon") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let address = format!("unix:path={}", dir.path().join("bus").display());
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        // The daemon prints its address once it listens.
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:"), "dbus-daemon said {line:?}");
        let runtime = dir.path().join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env_clear()
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // The login keyring's password, then end of input: created unlocked.
        {
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"login-keyring-password").unwrap();
        }
        let svc = SecretService {
            bus,
            keyring,
            address,
            _dir: dir,
        };
        svc.wait_for_name("org.freedesktop.secrets");
        Some(svc)
    }

    fn wait_for_name(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                ])
                .arg(format!("string:{name}"))
                .output()
                .expect("run dbus-send");
            if text(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(Instant::now() < deadline, "{name} never came up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn rp(stack: &Stack, svc: &SecretService, config: &Path) -> assert_cmd::Command {
    let mut c = stack.sb.cmd();
    c.env("DBUS_SESSION_BUS_ADDRESS", &svc.address)
        .env("ROLEPICK_CONFIG", config)
        .env("ROLEPICK_ROTATE_VERIFY_TIMEOUT", "3");
    c
}

fn run(stack: &Stack, svc: &SecretService, config: &Path, args: &[&str]) -> Output {
    rp(stack, svc, config).args(args).output().unwrap()
}

/// `exec admin` from a clean cache (so the long-lived key is needed), running
/// `aws sts get-caller-identity`.
fn exec_admin(stack: &Stack, svc: &SecretService, config: &Path) -> Output {
    let _ = std::fs::remove_dir_all(&stack.sb.cache);
    run(
        stack,
        svc,
        config,
        &[
            "exec",
            "admin",
            "--mfa-code",
            MFA_CODE,
            "--",
            "aws",
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ],
    )
}

/// [`exec_admin`] works and runs as the role whose ARN starts `arn`.
#[track_caller]
fn assert_exec_as(stack: &Stack, svc: &SecretService, config: &Path, arn: &str) {
    let out = exec_admin(stack, svc, config);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains(arn), "{}", show(&out));
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_key_lives_in_the_os_keychain_from_import_to_rotation_and_removal() {
    let stack = Stack::start();
    let Some(svc) = SecretService::start(&stack.sb.home) else {
        crate::support::missing_prerequisite("dbus-daemon or gnome-keyring-daemon");
        return;
    };
    let config = stack.sb.root().join("rolepick.toml");
    std::fs::write(&config, "[vault]\nbackend = \"keyring\"\n").unwrap();
    let old = stack.prov.access_key_id.clone();
    let secret = stack.prov.secret_access_key.clone();

    // Import: the key leaves ~/.aws/credentials for the keychain.
    let out = run(
        &stack,
        &svc,
        &config,
        &["vault", "import", "primary", "--yes"],
    );
    assert!(out.status.success(), "{}", show(&out));
    let creds = std::fs::read_to_string(stack.sb.home.join(".aws/credentials")).unwrap();
    assert!(!creds.contains(&old) && !creds.contains(&secret), "{creds}");
    let out = run(&stack, &svc, &config, &["vault", "list", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = v
        .as_array()
        .and_then(|a| a.iter().find(|e| e["source"] == "primary"))
        .unwrap_or_else(|| panic!("no primary in {v}"));
    assert_eq!(entry["backend"], "keyring", "{entry}");
    assert_eq!(entry["access_key_id"], old.as_str(), "{entry}");
    // Nothing under HOME (the keyring file included) holds the secret in
    // the clear, and there is no rolepick vault file.
    for f in files_under(&stack.sb.home) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "the secret is readable in {}",
            f.display()
        );
    }
    assert!(!stack
        .sb
        .home
        .join(".local/share/rolepick/vault.age")
        .exists());

    // exec signs in with the key from the keychain.
    let admin = stack.prov.role("admin").assumed_arn_prefix();
    assert_exec_as(&stack, &svc, &config, &admin);

    // Rotation replaces the key in IAM and in the keychain.
    let out = run(
        &stack,
        &svc,
        &config,
        &["rotate", "primary", "--mfa-code", MFA_CODE],
    );
    assert!(out.status.success(), "{}", show(&out));
    let ids = stack.iam_key_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_ne!(ids[0], old, "a new key");
    let out = run(&stack, &svc, &config, &["vault", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["access_key_id"], ids[0].as_str(), "{v}");
    assert_eq!(v[0]["backend"], "keyring", "{v}");
    assert_exec_as(&stack, &svc, &config, &admin);

    // Removal: gone from the keychain; exec then says what to do.
    let out = run(
        &stack,
        &svc,
        &config,
        &["vault", "remove", "primary", "--yes"],
    );
    assert!(out.status.success(), "{}", show(&out));
    let out = exec_admin(&stack, &svc, &config);
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("no access key") && err.contains("rolepick vault add primary"),
        "{err}"
    );
}
