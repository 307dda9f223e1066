//! A private tmux server (its own socket) running one sandboxed shell: the
//! real pseudo-terminal the picker's end-to-end tests drive with send-keys
//! and read with capture-pane.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A private tmux server (its own socket) running one sandboxed shell.
pub struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    /// Starts `sh` in a 100x30 pane with exactly `env` (plus TERM and a prompt).
    pub fn start(dir: &Path, env: &[(OsString, OsString)]) -> Tmux {
        let socket = format!("rolepick-e2e-{}-{}", std::process::id(), rand_suffix());
        let script = dir.join("pane.sh");
        let mut text = String::from("#!/bin/sh\nexec env -i");
        for (k, v) in env {
            let v = v.to_string_lossy().replace('\'', "'\\''");
            text.push_str(&format!(" '{}={v}'", k.to_string_lossy()));
        }
        text.push_str(" 'TERM=screen' 'SHELL=/bin/sh' 'PS1=e2e$ ' 'AWS_PAGER=' /bin/sh\n");
        fs::write(&script, text).expect("write pane script");
        let t = Tmux {
            socket,
            dir: dir.to_path_buf(),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "100",
            "-y",
            "30",
            &format!("sh {}", script.display()),
        ]);
        t.wait_for("shell prompt", |s| s.contains("e2e$"));
        t
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Types literal text (no key names).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Sends key names (`Enter`, `Escape`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        self.run(&args);
    }

    /// Pastes `text` the way a terminal does (tmux `paste-buffer`), as a
    /// bracketed paste when `bracketed` and the program asked for one.
    pub fn paste(&self, text: &str, bracketed: bool) {
        let file = self.dir.join("paste.txt");
        fs::write(&file, text).expect("write the paste");
        self.run(&["load-buffer", "-b", "paste", &file.to_string_lossy()]);
        let mut args = vec!["paste-buffer", "-b", "paste", "-t", "e2e"];
        if bracketed {
            args.push("-p");
        }
        self.run(&args);
    }

    /// A shell command line, then Enter.
    pub fn line(&self, cmd: &str) {
        self.type_text(cmd);
        self.keys(&["Enter"]);
    }

    #[track_caller]
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// `stty -a` of the pane's terminal, as the shell sees it.
    pub fn stty(&self, name: &str) -> String {
        let path = self.dir.join(name);
        self.line(&format!(
            "stty -a > {} ; echo stty-done-{name}",
            path.display()
        ));
        self.wait_for("stty", |s| s.contains(&format!("\nstty-done-{name}")));
        fs::read_to_string(&path).expect("read stty output")
    }

    /// Pid of the process running in the pane's shell (rolepick).
    pub fn picker_pid(&self) -> u32 {
        let shell: u32 = self
            .run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid");
        let children = fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("read children of the pane shell");
        children
            .split_whitespace()
            .next()
            .expect("rolepick runs in the pane")
            .parse()
            .expect("child pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Whether a `tmux` program runs here.
pub fn have_tmux() -> bool {
    Command::new("tmux").arg("-V").output().is_ok()
}
