//! Shared fixtures for the integration tests: a moto server, a recording and
//! fault-injecting HTTP proxy in front of it, and a sandbox (temp HOME, cache
//! dir, scrubbed environment) to run the real `rolepick` binary and the aws CLI in.
//!
//! Nothing here talks to anything but 127.0.0.1. Every command built here starts
//! from an empty environment, so no `AWS_*` variable or ~/.aws file of the person
//! running the tests can leak in.
//!
//! Use from a test file with `mod support;`.

#![allow(dead_code)] // each test binary uses a different part of this module

/// The IAM Identity Center stand-in and a sandbox HOME for the AWS tools.
pub mod sso;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tempfile::TempDir;

/// The MFA code the tests type; moto accepts any six digits.
pub const MFA_CODE: &str = "123456";

const MOTO_START_DEADLINE: Duration = Duration::from_secs(60);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

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

// ---------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------

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
        // A port from the kernel can be taken again before moto binds it; retry.
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log = fs::File::create(&log_path).expect("moto log file");
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
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
            match wait_http(port, &mut child, MOTO_START_DEADLINE) {
                Ok(()) => return Moto { child, port, dir },
                Err(e) => {
                    last_err = e;
                    kill_group(&mut child);
                }
            }
        }
        panic!(
            "moto_server did not come up: {last_err}\n--- {} (tail) ---\n{}",
            log_path.display(),
            tail(&log_path, 30)
        );
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
    pub endpoint: String,
    pub region: String,
    pub user_name: String,
    pub user_arn: String,
    pub account_id: String,
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

// ---------------------------------------------------------------------------
// proxy
// ---------------------------------------------------------------------------

/// A canned HTTP response the proxy sends instead of forwarding.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            body: body.into(),
            content_type: "text/xml",
        }
    }

    /// An STS (query protocol) error document.
    pub fn sts_error(status: u16, code: &str, message: &str) -> Canned {
        Canned::new(
            status,
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>x</RequestId></ErrorResponse>"
            ),
        )
    }

    /// GetSessionToken with a wrong one-time code.
    pub fn invalid_mfa() -> Canned {
        Canned::sts_error(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        )
    }

    pub fn throttling() -> Canned {
        Canned::sts_error(400, "Throttling", "Rate exceeded")
    }

    /// The long-lived key is unknown or deleted.
    pub fn invalid_client_token_id() -> Canned {
        Canned::sts_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }

    /// The MFA session used to call AssumeRole has expired.
    pub fn expired_token() -> Canned {
        Canned::sts_error(
            400,
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    }

    /// AssumeRole with DurationSeconds above the role's MaxSessionDuration.
    pub fn duration_too_long() -> Canned {
        Canned::sts_error(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    }

    /// AssumeRole refused by the role's trust policy.
    pub fn role_not_assumable(user_arn: &str, role_arn: &str) -> Canned {
        Canned::sts_error(
            403,
            "AccessDenied",
            &format!("User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"),
        )
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// `Action` from the form body or the query string, if any.
    pub action: Option<String>,
    /// Form fields of the body (for asserting e.g. `TokenCode`, `DurationSeconds`).
    pub form: HashMap<String, String>,
    /// Status sent back to the client.
    pub status: u16,
    pub injected: bool,
}

enum When {
    Nth(usize),
    Always,
}

struct Rule {
    action: String,
    when: When,
    canned: Canned,
    /// Forward the request first (upstream acts on it), then answer with
    /// `canned`: a reply lost on the way back.
    forward: bool,
}

#[derive(Default)]
struct ProxyState {
    requests: Vec<Recorded>,
    rules: Vec<Rule>,
}

/// A loopback HTTP/1.1 proxy in front of `upstream` that records every request's
/// `Action` and can answer chosen requests with a canned response.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// `upstream` is `http://127.0.0.1:PORT` (plain HTTP, loopback only).
    pub fn start(upstream: &str) -> Proxy {
        let up = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("proxy upstream must be http://, got {upstream:?}"))
            .trim_end_matches('/');
        let up_addr: SocketAddr = up
            .parse()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream:?} must be IP:PORT ({e})"));
        assert!(
            up_addr.ip().is_loopback(),
            "proxy upstream must be loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stop) = (state.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    thread::spawn(move || {
                        let _ = serve_conn(conn, up_addr, &state);
                    });
                }
            })
        };
        Proxy {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer the `n`th (1-based, counted over the proxy's life) request with
    /// this `Action` with `status`/`body` instead of forwarding it.
    pub fn fail_nth(&self, action: &str, n: usize, status: u16, body: impl Into<String>) {
        self.inject_nth(action, n, Canned::new(status, body));
    }

    /// Answer every request with this `Action` with `status`/`body`.
    pub fn fail_always(&self, action: &str, status: u16, body: impl Into<String>) {
        self.inject_always(action, Canned::new(status, body));
    }

    pub fn inject_nth(&self, action: &str, n: usize, canned: Canned) {
        assert!(n >= 1, "fail_nth counts from 1");
        self.add_rule(action, When::Nth(n), canned);
    }

    pub fn inject_always(&self, action: &str, canned: Canned) {
        self.add_rule(action, When::Always, canned);
    }

    /// Forward the `n`th request with this `Action` upstream (so it takes
    /// effect there), but answer the client with `canned`: the reply was lost.
    pub fn inject_nth_after_forward(&self, action: &str, n: usize, canned: Canned) {
        assert!(n >= 1, "inject_nth_after_forward counts from 1");
        self.lock().rules.push(Rule {
            action: action.to_owned(),
            when: When::Nth(n),
            canned,
            forward: true,
        });
    }

    fn add_rule(&self, action: &str, when: When, canned: Canned) {
        self.lock().rules.push(Rule {
            action: action.to_owned(),
            when,
            canned,
            forward: false,
        });
    }

    /// Remove every injection rule (recorded requests stay).
    pub fn clear_failures(&self) {
        self.lock().rules.clear();
    }

    /// How many requests with this `Action` reached the proxy (forwarded or injected).
    pub fn count(&self, action: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.action.as_deref() == Some(action))
            .count()
    }

    /// How many requests of any kind reached the proxy.
    pub fn total(&self) -> usize {
        self.lock().requests.len()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        // A panicking connection thread must not hide the counts from the test.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn serve_conn(conn: TcpStream, upstream: SocketAddr, state: &Mutex<ProxyState>) -> io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    loop {
        let Some(req) = read_request(&mut reader, &mut writer)? else {
            return Ok(());
        };
        let form = parse_form(&req);
        let action = form.get("Action").cloned();
        let canned = {
            let mut st = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let nth = 1 + st
                .requests
                .iter()
                .filter(|r| r.action.is_some() && r.action == action)
                .count();
            let canned = action.as_deref().and_then(|a| {
                st.rules
                    .iter()
                    .find(|r| {
                        r.action == a
                            && match r.when {
                                When::Nth(n) => n == nth,
                                When::Always => true,
                            }
                    })
                    .map(|r| (r.canned.clone(), r.forward))
            });
            // Record before answering so a test that sees the response sees the count.
            st.requests.push(Recorded {
                method: req.method.clone(),
                path: req.target.clone(),
                action: action.clone(),
                form: form.clone(),
                status: canned.as_ref().map_or(0, |(c, _)| c.status),
                injected: canned.is_some(),
            });
            canned
        };
        let canned = canned.map(|(c, forward_first)| {
            if forward_first {
                let _ = forward(&req, upstream);
            }
            c
        });
        let index = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .requests
            .len()
            - 1;
        let (status, reason, headers, body) = match canned {
            Some(c) => (
                c.status,
                reason(c.status).to_owned(),
                vec![
                    ("Content-Type".to_owned(), c.content_type.to_owned()),
                    ("x-amzn-RequestId".to_owned(), "x".to_owned()),
                ],
                c.body.into_bytes(),
            ),
            None => match forward(&req, upstream) {
                Ok(r) => r,
                Err(e) => (
                    502,
                    "Bad Gateway".to_owned(),
                    vec![("Content-Type".to_owned(), "text/plain".to_owned())],
                    format!("proxy: upstream {upstream}: {e}").into_bytes(),
                ),
            },
        };
        if let Some(r) = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .requests
            .get_mut(index)
        {
            if r.status == 0 {
                r.status = status;
            }
        }
        let close = req
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || req.version == "HTTP/1.0";
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        for (k, v) in &headers {
            if [
                "content-length",
                "transfer-encoding",
                "connection",
                "keep-alive",
            ]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
            {
                continue;
            }
            let _ = write!(out, "{k}: {v}\r\n");
        }
        let _ = write!(
            out,
            "Content-Length: {}\r\nConnection: {}\r\n\r\n",
            body.len(),
            if close { "close" } else { "keep-alive" }
        );
        writer.write_all(out.as_bytes())?;
        if req.method != "HEAD" {
            writer.write_all(&body)?;
        }
        writer.flush()?;
        if close {
            let _ = writer.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

/// Read one request; `None` on a clean EOF between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break; // tolerate stray CRLF between requests
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad request line {line:?}"),
        ));
    };
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let headers = read_headers(reader)?;
    if header(&headers, "Expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = read_body(reader, &headers, false)?;
    Ok(Some(Request {
        method,
        target,
        version,
        headers,
        body,
    }))
}

fn read_headers(reader: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
}

/// Body by Content-Length, chunked encoding, or (responses only) until EOF.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    until_eof: bool,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("0");
            let n = usize::from_str_radix(size, 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if n == 0 {
                read_headers(reader)?; // trailers
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + n, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = String::new();
            reader.read_line(&mut crlf)?;
        }
    } else if let Some(len) = header(headers, "Content-Length") {
        let len: usize = len
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if until_eof {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

type Response = (u16, String, Vec<(String, String)>, Vec<u8>);

/// Send `req` to `upstream` on a fresh connection and read the whole response.
fn forward(req: &Request, upstream: SocketAddr) -> io::Result<Response> {
    let mut up = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if [
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "expect",
        ]
        .iter()
        .any(|h| k.eq_ignore_ascii_case(h))
        {
            continue;
        }
        // Host stays as the client sent it: SigV4 signs it (moto does not check, but
        // keep the request as close to the original as possible).
        let _ = write!(head, "{k}: {v}\r\n");
    }
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    );
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;
    let mut reader = BufReader::new(up);
    let mut status_line = String::new();
    loop {
        status_line.clear();
        reader.read_line(&mut status_line)?;
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next();
        let status: u16 = parts
            .next()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad status line {status_line:?}"),
                )
            })?;
        let reason = parts.next().unwrap_or("").trim().to_owned();
        let headers = read_headers(&mut reader)?;
        if (100..200).contains(&status) {
            continue; // interim response
        }
        let body = if req.method == "HEAD" || status == 204 || status == 304 {
            Vec::new()
        } else {
            read_body(&mut reader, &headers, true)?
        };
        return Ok((status, reason, headers, body));
    }
}

fn parse_form(req: &Request) -> HashMap<String, String> {
    let mut form = HashMap::new();
    if let Some((_, q)) = req.target.split_once('?') {
        form.extend(parse_urlencoded(q));
    }
    let is_form = req
        .header("Content-Type")
        .is_none_or(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        if let Ok(body) = std::str::from_utf8(&req.body) {
            form.extend(parse_urlencoded(body));
        }
    }
    form
}

fn parse_urlencoded(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    s.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// sandbox
// ---------------------------------------------------------------------------

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
        let mut c = Command::new(env!("CARGO_BIN_EXE_rolepick"));
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

    /// Every regular file under the cache dir.
    /// The cache file of `profile`'s role credentials (named as rolepick
    /// names it: a readable prefix plus a hash of the exact name).
    pub fn role_cache_file(&self, profile: &str) -> PathBuf {
        self.cache
            .join(format!("role-{}.json", rolepick::cache::file_stem(profile)))
    }

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

// ---------------------------------------------------------------------------
// federation endpoint stand-in
// ---------------------------------------------------------------------------

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

/// An unused loopback port: nothing answers there.
pub fn closed_port() -> u16 {
    free_port()
}
