//! Loopback credential endpoint for subshells: the container-credentials
//! protocol (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`) that every AWS SDK and the aws CLI
//! speak. A shell started with it never goes stale: each request gets the
//! role's current credentials, refreshed from the MFA session shortly before
//! they expire.
//!
//! One endpoint per shell: its own random path and token, bound to
//! 127.0.0.1 on a port the kernel picks, served by one thread that lives
//! exactly as long as the shell (see [`serve`](crate::credserver::serve)). Requests are answered one
//! at a time (each is a few microseconds from memory; a refresh is one STS
//! call), with a short read timeout so a stuck client cannot hold it.
//!
//! Answers: `GET /<path>` with the right `Authorization` header: 200 and the
//! credentials JSON; wrong or missing token: 403; any other path: 404;
//! credentials that cannot be had without a person (the MFA session ran
//! out): the request waits while a [`Person`](crate::credserver::Person) is asked (rolepick borrows the
//! terminal, see [`crate::foreground`]), then 200, or 503 with a message
//! saying what to do. Credentials are never logged.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::aws::{rfc3339, Credentials};
use crate::clock::secs_until;
use crate::diag;
use crate::engine::{Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::model::Source;
use crate::vault::secret::SecretString;

/// How long a client may take to send its request line and headers.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest request head accepted (SDKs send a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;

/// Why credentials cannot be served right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// HTTP status: 503 when a person must act (new MFA code), 502 when AWS
    /// failed, 500 otherwise.
    pub status: u16,
    /// Machine-readable code for the JSON answer.
    pub code: &'static str,
    /// What went wrong and what to do; never contains a secret.
    pub message: String,
}

/// Where the endpoint's credentials come from.
pub trait Provider: Sync {
    /// Now, for deciding whether the credentials held in memory are fresh.
    fn now(&self) -> SystemTime;
    /// Credentials this close to expiry are refreshed, not served.
    fn refresh_before(&self) -> Duration;
    /// Current credentials for the request from `client` (blocking; may
    /// call STS, or ask a person while the client waits).
    fn fetch(&self, client: &Client) -> Result<Credentials, Unavailable>;
}

/// Both ends of a request's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The client's address (127.0.0.1 and its port).
    pub peer: SocketAddr,
    /// The endpoint's address.
    pub local: SocketAddr,
}

/// What a shell needs to reach its endpoint.
pub struct Endpoint {
    /// `http://127.0.0.1:<port>/<random path>`
    pub url: String,
    /// The shell's secret for the `Authorization` header.
    pub token: SecretString,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("token", &self.token)
            .finish()
    }
}

/// Random bytes as lowercase hex.
fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Other(format!("cannot get random bytes from the OS: {e}")))?;
    let mut s = String::with_capacity(bytes * 2);
    for b in &buf {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    buf.zeroize();
    Ok(s)
}

/// Starts an endpoint for `provider`, runs `body` (which starts and waits for
/// the shell) while it serves, then stops it: the port is closed when this
/// returns. The listener is bound before `body` runs, so the shell's first
/// request never races the server.
pub fn serve<R>(provider: &dyn Provider, body: impl FnOnce(&Endpoint) -> R) -> Result<R, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| {
        Error::Other(format!(
            "cannot listen on 127.0.0.1 for the credential endpoint: {e}"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Other(format!("credential endpoint: {e}")))?;
    let path = format!("/{}", random_hex(16)?);
    let endpoint = Endpoint {
        url: format!("http://{addr}{path}"),
        token: SecretString::new(random_hex(32)?),
        addr,
    };
    let server = Server {
        provider,
        path,
        token: endpoint.token.clone(),
        held: Mutex::new(None),
        stop: AtomicBool::new(false),
    };
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("rolepick-credserver".into())
            .spawn_scoped(s, || server.accept_loop(&listener, addr))
            .map_err(|e| {
                Error::Other(format!("cannot start the credential endpoint thread: {e}"))
            })?;
        let out = body(&endpoint);
        server.stop.store(true, Ordering::SeqCst);
        // Wake `accept` at once; the loop also looks at the flag every
        // STOP_POLL, so it ends even if this connect fails.
        let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        Ok(out)
    })
}

/// How often the accept loop checks whether its shell has exited.
const STOP_POLL: Duration = Duration::from_millis(250);

struct Server<'p> {
    provider: &'p dyn Provider,
    path: String,
    token: SecretString,
    /// The credentials last served; reused while fresh.
    held: Mutex<Option<Credentials>>,
    stop: AtomicBool,
}

struct Response {
    status: u16,
    body: String,
}

impl Drop for Response {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "Code": code, "Message": message }).to_string()
}

impl Server<'_> {
    fn accept_loop(&self, listener: &TcpListener, local: SocketAddr) {
        // This thread writes to the terminal (notes, `-v` lines, prompts)
        // while a shell owns its foreground; with `stty tostop` that would
        // stop all of rolepick, the endpoint with it, unless SIGTTOU is
        // blocked here.
        let mut ttou = nix::sys::signal::SigSet::empty();
        ttou.add(nix::sys::signal::Signal::SIGTTOU);
        let _ = ttou.thread_block();
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        // STOP_POLL
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: 250_000_000,
        };
        while !self.stop.load(Ordering::SeqCst) {
            let mut fds = [PollFd::new(listener, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    diag::warn(&format!("credential endpoint: poll failed: {e}"));
                    std::thread::sleep(STOP_POLL);
                    continue;
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            match listener.accept() {
                Ok((stream, peer)) => {
                    let client = Client { peer, local };
                    if let Err(e) = self.handle(stream, &client) {
                        diag::debug(&format!("credential endpoint: a client went away: {e}"));
                    }
                }
                // Out of file descriptors and the like: do not spin.
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn handle(&self, mut stream: TcpStream, client: &Client) -> io::Result<()> {
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        let resp = match read_head(&stream) {
            Ok(head) => self.answer(&head, client),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Response {
                status: 400,
                body: error_body("BadRequest", "malformed HTTP request"),
            },
            Err(e) => return Err(e),
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            resp.status,
            reason(resp.status),
            resp.body.len()
        )
        .into_bytes();
        out.extend_from_slice(resp.body.as_bytes());
        let r = stream.write_all(&out).and_then(|()| stream.flush());
        out.zeroize();
        r
    }

    fn answer(&self, head: &Head, client: &Client) -> Response {
        // The path is checked first: a wrong path learns nothing about tokens.
        let path = head.target.split('?').next().unwrap_or_default();
        if path != self.path {
            return Response {
                status: 404,
                body: error_body("NotFound", "no such path"),
            };
        }
        if head.method != "GET" {
            return Response {
                status: 405,
                body: error_body("MethodNotAllowed", "only GET is served"),
            };
        }
        let given = head.authorization.as_deref().unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(self.token.expose().as_bytes())) {
            diag::debug("credential endpoint: refused a request without the right token");
            return Response {
                status: 403,
                body: error_body(
                    "Forbidden",
                    "missing or wrong Authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN)",
                ),
            };
        }
        match self.current(client) {
            Ok(c) => Response {
                status: 200,
                body: credentials_json(&c),
            },
            Err(u) => Response {
                status: u.status,
                body: error_body(u.code, &u.message),
            },
        }
    }

    /// The held credentials while fresh, else new ones from the provider.
    fn current(&self, client: &Client) -> Result<Credentials, Unavailable> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let margin = i64::try_from(self.provider.refresh_before().as_secs()).unwrap_or(i64::MAX);
        if let Some(c) = held.as_ref() {
            if secs_until(self.provider.now(), c.expiration) > margin {
                return Ok(c.clone());
            }
        }
        let c = self.provider.fetch(client)?;
        *held = Some(c.clone());
        Ok(c)
    }
}

/// The container-credentials JSON. Holds secrets: the caller zeroizes it.
pub fn credentials_json(c: &Credentials) -> String {
    serde_json::json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "Token": c.session_token.expose(),
        "Expiration": rfc3339(c.expiration),
    })
    .to_string()
}

/// The parts of a request head the endpoint looks at.
struct Head {
    method: String,
    target: String,
    authorization: Option<String>,
}

impl Drop for Head {
    fn drop(&mut self) {
        if let Some(a) = self.authorization.as_mut() {
            a.zeroize();
        }
    }
}

fn read_head(stream: &TcpStream) -> io::Result<Head> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed request");
    let mut reader = BufReader::new(stream.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad());
    }
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        authorization: None,
    };
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            h.zeroize();
            return Err(bad()); // ended (or hit MAX_HEAD) before the blank line
        }
        let t = h.trim_end_matches(['\r', '\n']);
        if t.is_empty() {
            break;
        }
        if let Some((name, value)) = t.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                head.authorization = Some(value.trim().to_string());
            }
        }
        h.zeroize();
    }
    Ok(head)
}

/// An MFA prompt that never asks: it notes that a person was needed.
#[derive(Default)]
struct NoPerson {
    asked: AtomicBool,
}

impl MfaPrompt for NoPerson {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        self.asked.store(true, Ordering::SeqCst);
        Err(Error::Usage(format!(
            "an MFA code for {serial} (source {:?}) is needed",
            source.name
        )))
    }
    fn passphrase(&self, vault: &std::path::Path) -> Result<SecretString, Error> {
        self.asked.store(true, Ordering::SeqCst);
        Err(Error::Usage(format!(
            "the vault passphrase for {} is needed",
            vault.display()
        )))
    }
}

/// Somebody the endpoint can turn to when a refresh needs a person (a new
/// MFA code, the vault passphrase).
pub trait Person: Sync {
    /// Asks, if that can be done now, for what `need` says is missing
    /// (blocking: `client` waits for the answer). True when the engine
    /// should now be able to refresh without a person.
    fn ask(&self, need: &str, client: &Client) -> bool;

    /// The engine gave fresh credentials `c` (without a person, or after
    /// one answered): a later need is news worth telling again.
    fn refreshed(&self, _c: &Credentials) {}
}

/// Nobody to ask (tests, benchmarks).
pub struct Nobody;

impl Person for Nobody {
    fn ask(&self, _: &str, _: &Client) -> bool {
        false
    }
}

/// The engine as a [`Provider`] for one profile. When a refresh needs a
/// person, `person` is asked while the client waits; if that gives nothing,
/// the client gets 503 with what happened and `hint`.
pub struct EngineProvider<'a> {
    pub engine: &'a Engine,
    pub profile: String,
    /// How the user gives a new code here (appended to the 503 message).
    pub hint: String,
    pub person: &'a dyn Person,
}

/// Why [`EngineProvider::try_fetch`] failed.
enum Missing {
    Person,
    Failed(Error),
}

impl<'a> EngineProvider<'a> {
    pub fn new(engine: &'a Engine, profile: &str, hint: String, person: &'a dyn Person) -> Self {
        EngineProvider {
            engine,
            profile: profile.to_string(),
            hint,
            person,
        }
    }

    /// Credentials if the engine can get them without a person.
    fn try_fetch(&self) -> Result<Credentials, Missing> {
        let prompt = NoPerson::default();
        match self
            .engine
            .credentials(&self.profile, &prompt, Refresh::IfNeeded)
        {
            Ok(c) => {
                diag::debug(&format!(
                    "credential endpoint: fresh credentials for {:?} until {}",
                    self.profile,
                    rfc3339(c.expiration)
                ));
                self.person.refreshed(&c);
                Ok(c)
            }
            Err(_) if prompt.asked.load(Ordering::SeqCst) => Err(Missing::Person),
            Err(e) => Err(Missing::Failed(e)),
        }
    }

    /// What is missing, for the person and the client.
    fn need(&self) -> String {
        let source = self
            .engine
            .model()
            .profile(&self.profile)
            .map(|p| p.source.clone())
            .unwrap_or_default();
        format!(
            "rolepick: the MFA session of source {source:?} has run out, so profile {:?} cannot be refreshed without a new MFA code.",
            self.profile
        )
    }

    fn failed(&self, e: &Error) -> Unavailable {
        Unavailable {
            status: match e {
                Error::Network(_) | Error::Auth(_) | Error::MfaRejected(_) => 502,
                _ => 500,
            },
            code: "RefreshFailed",
            message: format!("rolepick could not refresh profile {:?}: {e}", self.profile),
        }
    }
}

impl Provider for EngineProvider<'_> {
    fn now(&self) -> SystemTime {
        self.engine.now()
    }

    fn refresh_before(&self) -> Duration {
        self.engine.model().settings.refresh_before
    }

    fn fetch(&self, client: &Client) -> Result<Credentials, Unavailable> {
        // A person is asked at most once per request, while it waits.
        let got = match self.try_fetch() {
            Err(Missing::Person) if self.person.ask(&self.need(), client) => self.try_fetch(),
            first => first,
        };
        match got {
            Ok(c) => Ok(c),
            Err(Missing::Failed(e)) => Err(self.failed(&e)),
            Err(Missing::Person) => Err(Unavailable {
                status: 503,
                code: "MfaSessionExpired",
                message: format!("{} {}", self.need(), self.hint),
            }),
        }
    }
}

/// What in the user's AWS files would win over the endpoint in an SDK's
/// credential chain (environment first, then the `[default]` profile of the
/// files, and only then the container endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shadowing {
    /// `[default]` of the credentials file has keys: the shell gets
    /// `AWS_SHARED_CREDENTIALS_FILE=/dev/null`.
    pub credentials_file: bool,
    /// `[default]` of the config file yields credentials itself (keys, a
    /// role, `credential_process`, SSO): the shell gets static variables.
    pub config_file: bool,
}

/// Keys of an ini section that give an SDK credentials before the endpoint.
const CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "role_arn",
    "credential_process",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
];

/// Whether the section called `[default]` (or `[profile default]` when
/// `config`) in `text` has any of [`CREDENTIAL_KEYS`].
fn default_has_credentials(text: &str, config: bool) -> bool {
    let mut in_default = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            let name = t[1..t.len() - 1].trim();
            let name = if config {
                name.strip_prefix("profile ").map_or(name, str::trim)
            } else {
                name
            };
            in_default = name == "default";
            continue;
        }
        if in_default && !t.starts_with(['#', ';']) {
            if let Some((k, v)) = t.split_once('=') {
                let k = k.trim().to_ascii_lowercase();
                if CREDENTIAL_KEYS.contains(&k.as_str()) && !v.trim().is_empty() {
                    return true;
                }
            }
        }
    }
    false
}

impl Shadowing {
    /// Reads the two AWS files (missing or unreadable ones shadow nothing).
    pub fn detect(paths: &crate::config::Paths) -> Shadowing {
        let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
        let mut creds = read(&paths.aws_credentials);
        let s = Shadowing {
            credentials_file: default_has_credentials(&creds, false),
            config_file: default_has_credentials(&read(&paths.aws_config), true),
        };
        creds.zeroize();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    const T0: u64 = 1_800_000_000;

    struct Fake {
        now: Mutex<SystemTime>,
        fetches: AtomicUsize,
        fail: AtomicBool,
        key: &'static str,
    }

    impl Fake {
        fn new(key: &'static str) -> Fake {
            Fake {
                now: Mutex::new(UNIX_EPOCH + Duration::from_secs(T0)),
                fetches: AtomicUsize::new(0),
                fail: AtomicBool::new(false),
                key,
            }
        }
    }

    impl Provider for Fake {
        fn now(&self) -> SystemTime {
            *self.now.lock().unwrap()
        }
        fn refresh_before(&self) -> Duration {
            Duration::from_secs(300)
        }
        fn fetch(&self, _: &Client) -> Result<Credentials, Unavailable> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(Unavailable {
                    status: 503,
                    code: "MfaSessionExpired",
                    message: "the MFA session has run out".into(),
                });
            }
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            Ok(Credentials {
                access_key_id: format!("{}{n}", self.key),
                secret_access_key: SecretString::new("SECRETSECRET".into()),
                session_token: SecretString::new("TOKENTOKEN".into()),
                expiration: self.now() + Duration::from_secs(900),
            })
        }
    }

    /// One raw HTTP request; returns (status, body).
    fn get(addr: SocketAddr, target: &str, auth: Option<&str>) -> (u16, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n{auth}\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text[9..12].parse().unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
        (status, body)
    }

    fn path_of(e: &Endpoint) -> String {
        e.url.split_once(&e.addr.to_string()).unwrap().1.to_string()
    }

    #[test]
    fn right_token_gets_credentials_wrong_or_missing_gets_403_other_paths_404() {
        let fake = Fake::new("ASIAONE");
        serve(&fake, |e| {
            let path = path_of(e);
            let (st, body) = get(e.addr, &path, Some(e.token.expose()));
            assert_eq!(st, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["AccessKeyId"], "ASIAONE0");
            assert_eq!(v["SecretAccessKey"], "SECRETSECRET");
            assert_eq!(v["Token"], "TOKENTOKEN");
            assert_eq!(v["Expiration"], "2027-01-15T08:15:00Z");
            assert_eq!(get(e.addr, &path, Some("nope")).0, 403);
            assert_eq!(get(e.addr, &path, None).0, 403);
            let almost = &e.token.expose()[..63];
            assert_eq!(get(e.addr, &path, Some(almost)).0, 403);
            assert_eq!(get(e.addr, "/", Some(e.token.expose())).0, 404);
            assert_eq!(get(e.addr, "/other", Some(e.token.expose())).0, 404);
            let (st, body) = get(e.addr, &path, None);
            assert!(!body.contains("SECRET"), "{st} {body}");
        })
        .unwrap();
    }

    #[test]
    fn credentials_are_served_from_memory_until_the_refresh_window() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let path = path_of(e);
            for _ in 0..3 {
                assert_eq!(get(e.addr, &path, Some(e.token.expose())).0, 200);
            }
            assert_eq!(fake.fetches.load(Ordering::SeqCst), 1);
            *fake.now.lock().unwrap() += Duration::from_secs(900 - 300);
            let (_, body) = get(e.addr, &path, Some(e.token.expose()));
            assert!(body.contains("ASIA1"), "{body}");
            assert_eq!(fake.fetches.load(Ordering::SeqCst), 2);
        })
        .unwrap();
    }

    #[test]
    fn a_provider_that_needs_a_person_gives_503_with_its_message() {
        let fake = Fake::new("ASIA");
        fake.fail.store(true, Ordering::SeqCst);
        serve(&fake, |e| {
            let (st, body) = get(e.addr, &path_of(e), Some(e.token.expose()));
            assert_eq!(st, 503);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["Code"], "MfaSessionExpired");
            assert!(v["Message"].as_str().unwrap().contains("run out"));
        })
        .unwrap();
    }

    #[test]
    fn two_endpoints_have_their_own_tokens_and_paths() {
        let (a, b) = (Fake::new("ASIAAAA"), Fake::new("ASIABBB"));
        serve(&a, |ea| {
            serve(&b, |eb| {
                assert_ne!(ea.token.expose(), eb.token.expose());
                assert_ne!(path_of(ea), path_of(eb));
                assert_eq!(get(ea.addr, &path_of(ea), Some(eb.token.expose())).0, 403);
                assert_eq!(get(eb.addr, &path_of(ea), Some(ea.token.expose())).0, 404);
                let (st, body) = get(eb.addr, &path_of(eb), Some(eb.token.expose()));
                assert_eq!(st, 200);
                assert!(body.contains("ASIABBB") && !body.contains("ASIAAAA"));
            })
            .unwrap();
        })
        .unwrap();
    }

    #[test]
    fn the_port_is_closed_once_serve_returns() {
        let fake = Fake::new("ASIA");
        let addr = serve(&fake, |e| e.addr).unwrap();
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
    }

    #[test]
    fn garbage_gets_400_and_the_server_keeps_serving() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let mut s = TcpStream::connect(e.addr).unwrap();
            s.write_all(b"hello\r\n\r\n").unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            assert!(text.starts_with("HTTP/1.1 400"), "{text}");
            assert_eq!(get(e.addr, &path_of(e), Some(e.token.expose())).0, 200);
        })
        .unwrap();
    }

    #[test]
    fn default_profile_with_keys_shadows_the_endpoint() {
        let creds = "[primary]\naws_access_key_id = AKIA\n\n[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
        assert!(default_has_credentials(creds, false));
        assert!(!default_has_credentials(
            "[primary]\naws_access_key_id = AKIA\n",
            false
        ));
        assert!(!default_has_credentials(
            "[default]\n# aws_access_key_id = x\nregion = eu-west-1\n",
            false
        ));
        assert!(default_has_credentials(
            "[default]\ncredential_process = x\n",
            true
        ));
        assert!(default_has_credentials(
            "[profile default]\nrole_arn = arn\n",
            true
        ));
        assert!(!default_has_credentials(
            "[default]\nregion = us-east-1\n[profile x]\nrole_arn = a\n",
            true
        ));
    }
}
