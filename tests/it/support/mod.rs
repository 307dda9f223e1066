//! Shared fixtures for the integration tests, by concern: [`moto`] (the
//! server and its provisioned IAM world), [`proxy`] (a recording and
//! fault-injecting HTTP proxy in front of it), [`sandbox`] (temp HOME, cache
//! dir, scrubbed environment, to run the real `rolepick` binary and the aws
//! CLI in), the loopback stand-ins of what moto lacks ([`federation`],
//! [`sso`]), and [`tmux`] for the picker's end-to-end runs. [`Stack`] puts
//! moto, the proxy and a sandbox together.
//!
//! Nothing here talks to anything but 127.0.0.1. Every command built here starts
//! from an empty environment, so no `AWS_*` variable or ~/.aws file of the person
//! running the tests can leak in.

pub mod federation;
pub mod http;
pub mod moto;
pub mod proxy;
pub mod sandbox;
/// The IAM Identity Center stand-in and a sandbox HOME for the AWS tools.
pub mod sso;
pub mod tmux;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use federation::Federation;
pub use moto::{Moto, Provision};
pub use proxy::{Canned, Proxy};
pub use sandbox::Sandbox;

/// The MFA code the tests type; moto accepts any six digits.
pub const MFA_CODE: &str = "123456";

/// A test's prerequisite (a program scripts/test installs) is missing. Under
/// `CI` this fails the test, so a green CI run means every test ran; on a
/// developer's machine it ends the test with a note.
pub fn missing_prerequisite(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{what} is missing and CI is set: a CI run must not skip this test (scripts/test installs it)"
    );
    eprintln!("skipping: {what}");
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// PATH for child processes: the test's own PATH (where moto_server, aws, sh live).
fn path_var() -> OsString {
    std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn kill_group(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Parse `KEY=VALUE` lines (as printed by `env`).
pub fn parse_env_lines(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Parse an RFC 3339 timestamp (`2026-01-02T03:04:05Z`, fractional seconds and
/// `±HH:MM` offsets allowed). `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<std::time::SystemTime> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let two = |t: &str| -> Option<i64> {
                t.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| t.parse().ok())?
            };
            let (oh, om) = (two(rest.get(1..3)?)?, two(rest.get(4..6)?)?);
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Output bytes as text (lossy).
/// A copy of the small `rolepick` program alone in `<dir>/bin/`: it has no
/// full program to become, so what it does, it does by itself.
pub fn lone_small_program(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let lone = bin.join("rolepick");
    fs::copy(env!("CARGO_BIN_EXE_rolepick"), &lone).unwrap();
    lone
}

/// Runs `program exec admin -- sh -c ...` in a terminal (script(1) gives
/// one) with `env`, and checks that the command has the terminal as stdin
/// and stdout and is its foreground process.
pub fn assert_exec_owns_the_terminal(program: &Path, env: Vec<(OsString, OsString)>) {
    let inner = format!(
        "{} exec admin -- sh -c 'test -t 0 && test -t 1 && echo TTY-OK; ps -o stat= -p $$'",
        program.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert!(said.contains("TTY-OK"), "{}", show(&out));
    let stat = said.lines().last().unwrap_or_default().trim().to_string();
    assert!(
        stat.contains('+'),
        "the command is in the foreground group: {stat:?}\n{}",
        show(&out)
    );
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A process's status, stdout and stderr, for assertion messages.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// An unused loopback port: nothing answers there.
pub fn closed_port() -> u16 {
    free_port()
}

/// moto + provisioned IAM + proxy in front + sandbox pointed at the proxy.
pub struct Stack {
    // Field order is drop order: sandbox, then proxy, then moto.
    pub sb: Sandbox,
    pub proxy: Proxy,
    pub prov: Provision,
    pub moto: Moto,
}

impl Stack {
    /// The provisioned user's access keys as IAM lists them, with their
    /// status (asked of moto directly, not through the proxy).
    pub fn iam_keys(&self) -> Vec<(String, String)> {
        let out = self
            .sb
            .aws()
            .env("AWS_ACCESS_KEY_ID", "AKIAMOTOBOOTSTRAP000")
            .env("AWS_SECRET_ACCESS_KEY", "moto-bootstrap-secret")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--endpoint-url", &self.moto.endpoint()])
            .args(["iam", "list-access-keys", "--user-name", "primary"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["AccessKeyMetadata"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AccessKeyId"].as_str().unwrap().to_string(),
                    k["Status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The ids of [`Stack::iam_keys`], sorted.
    pub fn iam_key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.iam_keys().into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids
    }

    pub fn start() -> Stack {
        let moto = Moto::start();
        let prov = moto.provision();
        let proxy = Proxy::start(&moto.endpoint());
        let sb = Sandbox::new(&proxy.endpoint(), &prov);
        Stack {
            sb,
            proxy,
            prov,
            moto,
        }
    }
}

/// What a 16 KiB tmpfs mounted over a directory does to writes there.
#[derive(Clone, Copy, Debug)]
pub enum SmallDisk {
    /// Filled up: every new write fails with ENOSPC (root too).
    Full,
    /// Read-only: every write fails with EROFS (root too).
    ReadOnly,
}

/// `argv` run in a mount namespace of its own (`unshare`; as an ordinary
/// user, mapped to root in a user namespace) where each directory of
/// `mounts` is a 16 KiB tmpfs holding a copy of what it held, then filled
/// up or made read-only. Mode bits would not stop a root test run; these
/// do. None (after [`missing_prerequisite`]) where namespaces are not
/// available. Nothing outside the namespace changes.
pub fn on_small_disks(mounts: &[(&Path, SmallDisk)], argv: &[OsString]) -> Option<Command> {
    let root = rustix::process::geteuid().is_root();
    let unshare = |probe: bool| {
        let mut c = Command::new("unshare");
        if !root {
            c.arg("--map-root-user");
        }
        c.args(["--mount", "--propagation", "private"]);
        if probe {
            c.arg("true");
        }
        c
    };
    let works = unshare(true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        missing_prerequisite("unshare (util-linux) with mount namespaces");
        return None;
    }
    let script = r#"set -e
while [ "$1" != "--" ]; do
  how=$1 dir=$2; shift 2
  stage=$(mktemp -d)
  cp -a "$dir/." "$stage/"
  mount -t tmpfs -o size=16k,mode=0700 rolepick-test "$dir"
  cp -a "$stage/." "$dir/"
  rm -rf "$stage"
  case $how in
    full) dd if=/dev/zero of="$dir/.filler" bs=1024 2>/dev/null || true ;;
    ro) mount -o remount,ro,size=16k,mode=0700 "$dir" ;;
  esac
done
shift
exec "$@"
"#;
    let mut c = unshare(false);
    c.args(["sh", "-c", script, "sh"]);
    for (dir, how) in mounts {
        c.arg(match how {
            SmallDisk::Full => "full",
            SmallDisk::ReadOnly => "ro",
        });
        c.arg(dir);
    }
    c.arg("--").args(argv);
    Some(c)
}
