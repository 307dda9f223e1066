//! Loopback credential endpoint for subshells: the container-credentials
//! protocol (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`) that every AWS SDK and the aws CLI
//! speak. A shell started with it never goes stale: each request gets the
//! role's current credentials, refreshed from the MFA session shortly before
//! they expire.
//!
//! One endpoint per shell: its own random path and token, bound to
//! 127.0.0.1 on a port the kernel picks, living exactly as long as the
//! shell (see [`serve`](crate::credserver::serve)). Any local user can
//! connect to a loopback port, so nobody may be able to stall it: HTTP is
//! hyper's (the same hyper the AWS SDK's client uses), connections are
//! served concurrently on a small tokio runtime, each must send its request
//! head within [`HEADER_TIMEOUT`](crate::credserver::HEADER_TIMEOUT), at most
//! [`MAX_CONNECTIONS`](crate::credserver::MAX_CONNECTIONS) are open at
//! once (more are closed at once), and one request per connection. Requests
//! that pass the path and token checks are answered by one worker thread
//! that holds the credentials (a few microseconds from memory; a refresh is
//! one STS call), so concurrent requests share one refresh.
//!
//! Answers: `GET /<path>` with the right `Authorization` header: 200 and the
//! credentials JSON; wrong or missing token: 403; any other path: 404;
//! credentials that cannot be had without a person (the MFA session ran
//! out): the request waits while a [`Person`](crate::credserver::Person) is asked (rolepick borrows the
//! terminal, see [`crate::foreground`]), then 200, or 503 with a message
//! saying what to do. Credentials are never logged.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hyper::body::{Buf, Frame, Incoming, SizeHint};
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::{Zeroize, Zeroizing};

use crate::aws::{rfc3339, Credentials};
use crate::clock::secs_until;
use crate::diag;
use crate::engine::{Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::model::Source;
use crate::secret::SecretString;

/// How long a client may take to send its request line and headers (SDKs
/// send them at once; an idle or trickling connection is closed after this).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Most connections one endpoint keeps open at once; more are closed as soon
/// as they are accepted. Far above what the programs of one shell open, far
/// below the usual 1,024 file descriptors.
pub const MAX_CONNECTIONS: usize = 256;
/// Pending connections the kernel queues for accept (a burst of connects
/// waits in it instead of being retried a second later).
const BACKLOG: u32 = 1024;
/// Longest request head accepted (SDKs send a few hundred bytes; hyper's
/// smallest buffer).
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
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Other(format!("cannot {what} for the credential endpoint: {e}"))
    };
    let runtime = crate::aws::runtime().map_err(|e| failed("start the async runtime", &e))?;
    let listener = {
        let _in = runtime.enter();
        tokio::net::TcpSocket::new_v4()
            .and_then(|s| {
                s.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
                s.listen(BACKLOG)
            })
            .map_err(|e| failed("listen on 127.0.0.1", &e))?
    };
    let addr = listener
        .local_addr()
        .map_err(|e| failed("set up the socket", &e))?;
    let path = format!("/{}", random_hex(16)?);
    let endpoint = Endpoint {
        url: format!("http://{addr}{path}"),
        token: SecretString::new(random_hex(32)?),
        addr,
    };
    let (jobs, queue) = mpsc::channel::<Job>();
    let front = Arc::new(Front {
        path,
        token: endpoint.token.clone(),
        jobs,
    });
    let worker = Worker {
        provider,
        held: Mutex::new(None),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("rolepick-credserver".into())
            .spawn_scoped(s, move || {
                block_sigttou();
                runtime.block_on(accept_loop(listener, front, stopped));
                // Dropping the runtime closes the listener and every
                // connection, and with them the worker's queue.
            })
            .map_err(|e| failed("start a thread", &e))?;
        std::thread::Builder::new()
            .name("rolepick-credfetch".into())
            .spawn_scoped(s, move || {
                block_sigttou();
                worker.run(&queue);
            })
            .map_err(|e| failed("start a thread", &e))?;
        let out = body(&endpoint);
        let _ = stop.send(());
        Ok(out)
    })
}

/// The endpoint's threads write to the terminal (notes, `-v` lines,
/// prompts) while a shell owns its foreground; with `stty tostop` that
/// would stop all of rolepick, the endpoint with it, unless SIGTTOU is
/// blocked in them.
fn block_sigttou() {
    let mut ttou = nix::sys::signal::SigSet::empty();
    ttou.add(nix::sys::signal::Signal::SIGTTOU);
    let _ = ttou.thread_block();
}

/// A request that passed the path and token checks, for the worker.
struct Job {
    client: Client,
    reply: oneshot::Sender<Result<Credentials, Unavailable>>,
}

/// What the connections share: the checks, and the way to the worker.
struct Front {
    path: String,
    token: SecretString,
    jobs: mpsc::Sender<Job>,
}

/// The one thread that answers authorised requests: it holds the
/// credentials and may block (an STS call, a person at the terminal).
struct Worker<'p> {
    provider: &'p dyn Provider,
    /// The credentials last served; reused while fresh.
    held: Mutex<Option<Credentials>>,
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    front: Arc<Front>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_HEAD);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: do not spin.
                    diag::debug(&format!("credential endpoint: accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            diag::debug(&format!(
                "credential endpoint: {MAX_CONNECTIONS} connections open; closed a new one from {peer}"
            ));
            continue; // `stream` is dropped: closed at once
        };
        let _ = stream.set_nodelay(true);
        let client = Client { peer, local };
        let front = Arc::clone(&front);
        let service = hyper::service::service_fn(move |req| {
            let front = Arc::clone(&front);
            async move { Ok::<_, Infallible>(front.answer(&req, client).await) }
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                diag::debug(&format!("credential endpoint: a client went away: {e}"));
            }
            drop(slot);
        });
    }
}

fn reply(status: u16, body: String) -> Response<WipedBody> {
    let mut r = Response::new(WipedBody::new(body.into_bytes()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "Code": code, "Message": message }).to_string()
}

impl Front {
    async fn answer(&self, req: &Request<Incoming>, client: Client) -> Response<WipedBody> {
        // The path is checked first: a wrong path learns nothing about tokens.
        if req.uri().path() != self.path {
            return reply(404, error_body("NotFound", "no such path"));
        }
        if req.method() != Method::GET {
            return reply(405, error_body("MethodNotAllowed", "only GET is served"));
        }
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(header::HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(given.trim_ascii().ct_eq(self.token.expose().as_bytes())) {
            diag::debug("credential endpoint: refused a request without the right token");
            return reply(
                403,
                error_body(
                    "Forbidden",
                    "missing or wrong Authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN)",
                ),
            );
        }
        let (tx, rx) = oneshot::channel();
        let sent = self.jobs.send(Job { client, reply: tx });
        match (sent, rx.await) {
            (Ok(()), Ok(Ok(c))) => reply(200, credentials_json(&c)),
            (Ok(()), Ok(Err(u))) => reply(u.status, error_body(u.code, &u.message)),
            _ => reply(
                503,
                error_body("Stopping", "the credential endpoint is stopping"),
            ),
        }
    }
}

impl Worker<'_> {
    fn run(&self, queue: &mpsc::Receiver<Job>) {
        for job in queue {
            // A client that gave up while queued is not asked about.
            if job.reply.is_closed() {
                continue;
            }
            let _ = job.reply.send(self.current(&job.client));
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

/// A response body (which may hold credentials) whose bytes are wiped once
/// written; hyper queues it for a vectored write without copying it.
pub struct WipedBody(Option<Chunk>);

/// The one chunk of a [`WipedBody`].
pub struct Chunk {
    bytes: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl WipedBody {
    fn new(bytes: Vec<u8>) -> WipedBody {
        WipedBody(Some(Chunk {
            bytes: Zeroizing::new(bytes),
            pos: 0,
        }))
    }
}

impl Buf for Chunk {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    fn chunk(&self) -> &[u8] {
        &self.bytes[self.pos..]
    }
    fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.bytes.len());
    }
}

impl hyper::body::Body for WipedBody {
    type Data = Chunk;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Chunk>, Infallible>>> {
        Poll::Ready(self.get_mut().0.take().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |c| c.remaining() as u64))
    }
}

/// An MFA prompt that never asks: it notes that a person was needed.
#[derive(Default)]
struct NoPerson {
    asked: AtomicBool,
}

impl MfaPrompt for NoPerson {
    fn code(&self, source: &Source, serial: &str) -> Result<String, Error> {
        self.asked.store(true, Ordering::SeqCst);
        Err(Error::MfaCodeNeeded {
            source_name: source.name.clone(),
            serial: serial.to_string(),
        })
    }
}

impl crate::vault::Unlock for NoPerson {
    fn passphrase(&self, vault: &std::path::Path) -> Result<SecretString, Error> {
        self.asked.store(true, Ordering::SeqCst);
        Err(Error::PassphraseNeeded {
            vault: vault.to_path_buf(),
        })
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
            status: match e.root() {
                Error::Unreachable { .. }
                | Error::Refused { .. }
                | Error::Auth(_)
                | Error::MfaRejected { .. } => 502,
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
    use std::io::{self, Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Instant, UNIX_EPOCH};

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

    /// Connections that never send a request head.
    fn idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
        (0..n).map(|_| TcpStream::connect(addr).unwrap()).collect()
    }

    /// A slow-loris client: the start of a request head, then one byte
    /// every `every` until the server hangs up or `stop` is set.
    fn slow_loris(addr: SocketAddr, every: Duration, stop: &AtomicBool) {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\nX-Slow: ");
        while !stop.load(Ordering::SeqCst) {
            if s.write_all(b"a").is_err() {
                return;
            }
            std::thread::sleep(every);
        }
    }

    /// `get` that gives up after `limit` instead of waiting forever.
    fn get_within(e: &Endpoint, limit: Duration) -> io::Result<u16> {
        let mut s = TcpStream::connect(e.addr)?;
        s.set_read_timeout(Some(limit))?;
        write!(
            s,
            "GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
            path_of(e),
            e.token.expose()
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text.get(9..12).and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    #[test]
    fn a_request_is_answered_while_idle_and_slow_loris_connections_are_open() {
        let fake = Fake::new("ASIA");
        let stop = AtomicBool::new(false);
        serve(&fake, |e| {
            std::thread::scope(|s| {
                let _idle = idle(e.addr, 20);
                for _ in 0..5 {
                    s.spawn(|| slow_loris(e.addr, Duration::from_millis(500), &stop));
                }
                std::thread::sleep(Duration::from_millis(100));
                // Served one at a time with a 2 s read timeout, this took
                // 20 x 2 s; a generous bound, not a speed target (see
                // benches/credserver.rs).
                let got = get_within(e, Duration::from_secs(5));
                stop.store(true, Ordering::SeqCst);
                assert_eq!(got.expect("answered within 5 s"), 200);
            });
        })
        .unwrap();
    }

    #[test]
    fn idle_and_slow_loris_connections_are_closed_at_the_header_deadline() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let start = Instant::now();
            let mut quiet = TcpStream::connect(e.addr).unwrap();
            quiet
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 64];
            // Closed by the server: EOF (or a reset), not the 10 s timeout.
            match quiet.read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                other => panic!("idle connection not closed: {other:?}"),
            }
            assert!(start.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(100));
            // A client that keeps sending, but never a whole head, is cut
            // off all the same.
            let stop = AtomicBool::new(false);
            let start = Instant::now();
            slow_loris(e.addr, Duration::from_millis(200), &stop);
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{:?}",
                start.elapsed()
            );
        })
        .unwrap();
    }

    #[test]
    fn connections_beyond_the_cap_are_closed_at_once() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let mut held = idle(e.addr, MAX_CONNECTIONS);
            let mut extra = TcpStream::connect(e.addr).unwrap();
            // Well before the header deadline would close it.
            extra.set_read_timeout(Some(HEADER_TIMEOUT / 2)).unwrap();
            let mut buf = [0u8; 64];
            match extra.read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                other => panic!("connection over the cap was kept: {other:?}"),
            }
            // Room again once some go away.
            held.truncate(MAX_CONNECTIONS - 10);
            std::thread::sleep(Duration::from_millis(200));
            assert_eq!(get_within(e, Duration::from_secs(5)).unwrap(), 200);
        })
        .unwrap();
    }

    #[test]
    fn requests_are_not_kept_alive_and_non_get_is_405() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let mut s = TcpStream::connect(e.addr).unwrap();
            write!(
                s,
                "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                path_of(e)
            )
            .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            assert!(text.starts_with("HTTP/1.1 405"), "{text}");
            assert!(
                text.to_ascii_lowercase().contains("connection: close"),
                "{text}"
            );
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
