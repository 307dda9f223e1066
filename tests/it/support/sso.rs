//! The IAM Identity Center stand-in (`scripts/sso_standin.py`) for tests:
//! started beside moto on a free loopback port, killed on drop, with its
//! `/_stats` counters and `/_control` knobs at hand, and a sandbox HOME for
//! boto3/botocore and the aws CLI pointed at it.

pub use super::http::http;
use super::{kill_group, manifest_dir, path_var, show, tail, text};
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// The session, profile, account and role the sandbox config names.
pub const SESSION: &str = "corp";
pub const PROFILE: &str = "sso-dev";
pub const START_URL: &str = "https://d-standin.awsapps.com/start";
pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "100000000001";
pub const ROLE: &str = "ReadOnlyAccess";

/// `scripts/sso_standin.py`, killed on drop.
pub struct Standin {
    child: Child,
    endpoint: String,
    dir: TempDir,
}

impl Standin {
    /// `POST /_reset`: counters and the record start again.
    pub fn reset(&self) {
        let (status, body) = self.http("POST", "/_reset", "");
        assert_eq!(status, 200, "{body}");
    }

    /// Starts the stand-in, minting credentials through `moto` (a URL) when
    /// given, with extra flags (`--accounts`, `--token-ttl`, ...).
    pub fn start(moto: Option<&str>, args: &[&str]) -> Standin {
        let dir = tempfile::Builder::new()
            .prefix("rolepick-sso-")
            .tempdir()
            .expect("temp dir for the stand-in");
        let log = fs::File::create(dir.path().join("standin.log")).expect("log file");
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("scripts/sso_standin.py"))
            .args(moto.map(|m| ["--moto", m]).into_iter().flatten())
            .args(args)
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("run python3 scripts/sso_standin.py");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout piped");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let endpoint = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["endpoint"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                kill_group(&mut child);
                panic!(
                    "sso_standin.py did not start ({line:?}):\n{}",
                    tail(&dir.path().join("standin.log"), 30)
                )
            });
        Standin {
            child,
            endpoint,
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn log(&self) -> String {
        tail(&self.dir.path().join("standin.log"), 40)
    }

    /// One request to the stand-in: (status, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(&self.endpoint, method, path, body)
    }

    /// `GET /_stats`.
    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = self.http("GET", "/_stats", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("stats JSON")
    }

    /// Calls of `op` (`ListAccounts`, ...), or of `op:STATUS` (`CreateToken:200`).
    pub fn count(&self, key: &str) -> u64 {
        self.stats()["counts"][key].as_u64().unwrap_or(0)
    }

    /// Requests of `op` as recorded (method, query, status, grant, token number).
    pub fn requests(&self, op: &str) -> Vec<serde_json::Value> {
        self.stats()["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|r| r["op"] == op)
            .cloned()
            .collect()
    }

    /// `POST /_control` with a JSON object of knobs.
    pub fn control(&self, json: &str) {
        let (status, body) = self.http("POST", "/_control", json);
        assert_eq!(status, 200, "control {json}: {body}");
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// `scripts/sso_browser`: a `$BROWSER` that fetches the URL it is given.
pub fn browser() -> PathBuf {
    manifest_dir().join("scripts/sso_browser")
}

/// A temp HOME whose `~/.aws/config` has profile [`PROFILE`] on
/// `[sso-session corp]`, and the environment that points the AWS tools at
/// the stand-in (OIDC and portal) and moto (STS).
pub struct SsoHome {
    dir: TempDir,
    pub home: PathBuf,
    pub moto: String,
    pub standin: String,
}

impl SsoHome {
    pub fn root(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn new(moto: &str, standin: &str) -> SsoHome {
        let dir = tempfile::Builder::new()
            .prefix("rolepick-ssohome-")
            .tempdir()
            .expect("temp HOME");
        let home = dir.path().join("home");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home.join(".aws"))
            .expect("~/.aws");
        let config = format!(
            "[profile {PROFILE}]\nsso_session = {SESSION}\nsso_account_id = {ACCOUNT}\n\
             sso_role_name = {ROLE}\nregion = {REGION}\n\n\
             [sso-session {SESSION}]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n\
             sso_registration_scopes = sso:account:access\n"
        );
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(home.join(".aws/config"))
            .and_then(|mut f| f.write_all(config.as_bytes()))
            .expect("write ~/.aws/config");
        SsoHome {
            dir,
            home,
            moto: moto.to_string(),
            standin: standin.to_string(),
        }
    }

    /// rolepick's private cache dir (locks); not created.
    pub fn rolepick_cache(&self) -> PathBuf {
        self.dir.path().join("rolepick-cache")
    }

    /// `~/.aws/sso/cache`.
    pub fn token_dir(&self) -> PathBuf {
        self.home.join(".aws/sso/cache")
    }

    /// The environment of every AWS tool run here, and nothing else.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        vec![
            ("PATH".into(), path_var()),
            ("HOME".into(), self.home.clone().into()),
            (
                "AWS_ENDPOINT_URL_SSO_OIDC".into(),
                self.standin.clone().into(),
            ),
            ("AWS_ENDPOINT_URL_SSO".into(), self.standin.clone().into()),
            ("AWS_ENDPOINT_URL_STS".into(), self.moto.clone().into()),
            (
                "AWS_CONFIG_FILE".into(),
                self.home.join(".aws/config").into(),
            ),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
            ("AWS_PAGER".into(), "".into()),
            ("AWS_DEFAULT_OUTPUT".into(), "json".into()),
            ("BROWSER".into(), browser().into()),
        ]
    }

    /// Runs `tests/sso/boto3_client.py CMD [ARGS]` here (`cmd` split on
    /// spaces); its JSON, or a panic with its output and the stand-in's log.
    pub fn boto3(&self, cmd: &str, standin: &Standin) -> serde_json::Value {
        let out = Command::new("python3")
            .arg(manifest_dir().join("tests/sso/boto3_client.py"))
            .args(cmd.split_whitespace())
            .env_clear()
            .envs(self.env())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run python3 tests/sso/boto3_client.py");
        assert!(
            out.status.success(),
            "boto3_client.py {cmd} failed:\n{}\n--- stand-in log ---\n{}",
            show(&out),
            standin.log()
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "boto3_client.py {cmd}: no JSON ({e}): {}",
                text(&out.stdout)
            )
        })
    }

    /// The aws CLI here.
    pub fn aws(&self) -> Command {
        let mut c = Command::new("aws");
        c.env_clear()
            .envs(self.env())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        c
    }
}
