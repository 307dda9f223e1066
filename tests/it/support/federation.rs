//! `scripts/federation_standin.py`: the AWS console federation endpoint
//! (`getSigninToken`), which moto lacks, on a free loopback port.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use super::{kill_group, manifest_dir, path_var};

/// `scripts/federation_standin.py` on a free loopback port (the AWS console
/// federation endpoint, which moto lacks), recording every request; killed
/// on drop. `mode`: `ok`, `refuse` (HTTP 400) or `no-token`.
pub struct Federation {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Federation {
    pub fn start(mode: &str) -> Federation {
        let dir = tempfile::Builder::new()
            .prefix("rolepick-federation-")
            .tempdir()
            .expect("temp dir for the federation stand-in");
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("scripts/federation_standin.py"))
            .args(["--mode", mode, "--record"])
            .arg(dir.path().join("requests.jsonl"))
            .env_clear()
            .env("PATH", path_var())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("run python3 scripts/federation_standin.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stand-in stdout"))
            .read_line(&mut line)
            .expect("read the stand-in's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the federation stand-in printed {line:?}, not a port"));
        Federation { child, port, dir }
    }

    /// `http://127.0.0.1:PORT/federation`, for `ROLEPICK_SIGNIN_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/federation", self.port)
    }

    /// Every request received so far, in order, as the stand-in recorded it.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a recorded request"))
            .collect()
    }

    /// The recorded requests with `Action=action`.
    pub fn requests_for(&self, action: &str) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["params"]["Action"] == action)
            .collect()
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
