//! Loopback credential endpoint for subshells: the container-credentials
//! protocol (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`) that every AWS SDK and the aws CLI
//! speak. A shell started with it never goes stale: each request gets the
//! role's current credentials, refreshed from the MFA session shortly before
//! they expire.
//!
//! One endpoint per shell: its own random path and token, bound to
//! 127.0.0.1 on a port the kernel picks, living exactly as long as the
//! shell (see [`serve`](crate::run::credserver::serve)). Any local user can
//! connect to a loopback port, so nobody may be able to stall it: HTTP is
//! hyper's (the same hyper the AWS SDK's client uses), connections are
//! served concurrently on a small tokio runtime, each must send its request
//! head within [`HEADER_TIMEOUT`](crate::run::credserver::HEADER_TIMEOUT), at most
//! [`MAX_CONNECTIONS`](crate::run::credserver::MAX_CONNECTIONS) are open at
//! once, and one request per connection. On Linux, connections from other
//! users' sockets are closed as they are accepted, before they take one of
//! those; when all are taken, the oldest connection that has not yet sent a
//! whole request is closed to make room, never the new one, so a flood can
//! only push out its own connections (and a request being answered is never
//! cut off). Requests
//! that pass the path and token checks are answered by one worker thread
//! that holds the credentials (a few microseconds from memory; a refresh is
//! one STS call), so concurrent requests share one refresh.
//!
//! Answers: `GET /<path>` with the right `Authorization` header: 200 and the
//! credentials JSON; wrong or missing token: 403; any other path: 404;
//! credentials that cannot be had without a person (the MFA session ran
//! out): the request waits while a [`Person`](crate::run::credserver::Person) is asked (rolepick borrows the
//! terminal, see [`crate::run::foreground`]), then 200, or 503 with a message
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
/// Most connections one endpoint keeps open at once; when all are taken, the
/// oldest that has not sent a whole request is closed for a new one. Far
/// above what the programs of one shell open, far below the usual 1,024
/// file descriptors.
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

/// The connections an endpoint holds, in the order they were accepted.
#[derive(Default)]
struct Registry {
    next: u64,
    open: std::collections::BTreeMap<u64, Held>,
}

/// One open connection.
struct Held {
    /// It has sent a whole request head: it is being answered, not waited on.
    requested: bool,
    /// Tells its task to close it.
    evict: oneshot::Sender<()>,
}

impl Registry {
    /// Makes room for one more connection when all
    /// [`MAX_CONNECTIONS`] are taken: closes the oldest that has not sent
    /// a whole request. False when every one is being answered.
    fn make_room(&mut self) -> bool {
        if self.open.len() < MAX_CONNECTIONS {
            return true;
        }
        let Some(oldest) = self
            .open
            .iter()
            .find_map(|(id, c)| (!c.requested).then_some(*id))
        else {
            return false;
        };
        if let Some(c) = self.open.remove(&oldest) {
            let _ = c.evict.send(());
        }
        true
    }
}

/// Locks the registry (a poisoned lock still holds a usable map).
fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes its connection from the registry when the connection's task
/// ends, however it ends (answered, timed out, gone, or evicted).
struct Leaving {
    registry: Arc<Mutex<Registry>>,
    id: u64,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        lock(&self.registry).open.remove(&self.id);
    }
}

/// Most connections taken from the kernel's queue before their owners are
/// looked up and they are served; then the connections already admitted
/// get to read their requests (so a flood can never evict a connection
/// that has not yet had the chance to be read).
const BATCH: usize = 64;

async fn accept_loop(
    listener: tokio::net::TcpListener,
    front: Arc<Front>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    let registry = Arc::new(Mutex::new(Registry::default()));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_HEAD);
    let own = peers::allowed_uids();
    let mut lookup = peers::Lookup::new();
    let mut peers_of = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
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
        batch.push(first);
        // Whatever else is already waiting, without waiting for more.
        while batch.len() < BATCH {
            let next = std::future::poll_fn(|cx| match listener.poll_accept(cx) {
                Poll::Ready(Ok(a)) => Poll::Ready(Some(a)),
                Poll::Ready(Err(_)) | Poll::Pending => Poll::Ready(None),
            })
            .await;
            let Some(a) = next else { break };
            batch.push(a);
        }
        peers_of.clear();
        peers_of.extend(batch.iter().map(|(_, peer)| *peer));
        let owners = lookup.owners(local, &peers_of);
        let mut refused = 0usize;
        for (i, (stream, peer)) in batch.drain(..).enumerate() {
            if let Some(owners) = &owners {
                if !owners[i].is_some_and(|uid| own.contains(&uid)) {
                    refused += 1;
                    reset(&stream);
                    continue; // `stream` is dropped: closed at once
                }
            }
            admit(&registry, &http, &front, stream, Client { peer, local });
        }
        if refused > 0 {
            diag::debug(&format!(
                "credential endpoint: closed {refused} connection(s) of other users"
            ));
        }
        // Let the connections just admitted read their requests before the
        // next batch may evict them.
        tokio::task::yield_now().await;
    }
}

/// Serves `stream` on its own task, making room for it if the endpoint is
/// full; closes it at once if every open connection is being answered.
fn admit(
    registry: &Arc<Mutex<Registry>>,
    http: &hyper::server::conn::http1::Builder,
    front: &Arc<Front>,
    stream: tokio::net::TcpStream,
    client: Client,
) {
    let (evict, evicted) = oneshot::channel();
    let id = {
        let mut reg = lock(registry);
        if !reg.make_room() {
            diag::debug(&format!(
                "credential endpoint: {MAX_CONNECTIONS} requests being answered; closed a new connection from {}",
                client.peer
            ));
            reset(&stream);
            return;
        }
        let id = reg.next;
        reg.next += 1;
        reg.open.insert(
            id,
            Held {
                requested: false,
                evict,
            },
        );
        id
    };
    let _ = stream.set_nodelay(true);
    let front = Arc::clone(front);
    let marks = Arc::clone(registry);
    let service = hyper::service::service_fn(move |req| {
        // A whole request head has arrived: this connection is no longer
        // one that may be evicted.
        if let Some(c) = lock(&marks).open.get_mut(&id) {
            c.requested = true;
        }
        let front = Arc::clone(&front);
        async move { Ok::<_, Infallible>(front.answer(&req, client).await) }
    });
    let mut conn = http.serve_connection(TokioIo::new(stream), service);
    let leaving = Leaving {
        registry: Arc::clone(registry),
        id,
    };
    tokio::spawn(async move {
        let _leaving = leaving;
        tokio::select! {
            done = &mut conn => if let Err(e) = done {
                diag::debug(&format!("credential endpoint: a client went away: {e}"));
            },
            _ = evicted => {
                reset(conn.into_parts().io.inner());
            }
        }
    });
}

/// Makes closing `stream` reset the connection: no TIME_WAIT entry is
/// left behind for each connection a flood makes the endpoint close.
fn reset(stream: &tokio::net::TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Who is on the other end of a loopback connection. Any local user can
/// connect to the endpoint's port; on Linux the kernel says which user owns
/// the client's socket, so connections of other users are closed before
/// they take one of the [`MAX_CONNECTIONS`]. It is asked through
/// `sock_diag` netlink (one exact lookup per connection, microseconds),
/// else by reading `/proc/net/tcp` and `/proc/net/tcp6` (a few
/// milliseconds a read, however few sockets there are). Elsewhere, or where
/// neither can be had, every connection is admitted and only the eviction
/// of the oldest incomplete connection protects the endpoint.
mod peers {
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    /// The users whose connections are served: rolepick's own (effective)
    /// user, and root, who can read the shell's token anyway.
    pub(super) fn allowed_uids() -> [u32; 2] {
        [own_uid(), 0]
    }

    #[cfg(unix)]
    fn own_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    #[cfg(not(unix))]
    fn own_uid() -> u32 {
        0
    }

    /// How an endpoint finds the owners of its clients' sockets.
    pub(super) struct Lookup {
        #[cfg(target_os = "linux")]
        diag: Option<diag::Diag>,
    }

    impl Lookup {
        pub(super) fn new() -> Lookup {
            Lookup {
                #[cfg(target_os = "linux")]
                diag: diag::Diag::open().ok(),
            }
        }

        /// The uid owning each client socket of `peers` connected to
        /// `local`, in order: `None` for one the kernel does not know.
        /// `None` altogether when it cannot be asked (not Linux, no
        /// netlink and no `/proc`).
        ///
        /// A client's socket is known from its `connect()` on, for as long
        /// as it is open, so a connection without one has a client that is
        /// already gone (nothing to answer); it is closed like another
        /// user's: a missing entry lets nobody in.
        pub(super) fn owners(
            &mut self,
            local: SocketAddr,
            peers: &[SocketAddr],
        ) -> Option<Vec<Option<u32>>> {
            #[cfg(target_os = "linux")]
            {
                if let Some(d) = &self.diag {
                    let found: std::io::Result<Vec<Option<u32>>> =
                        peers.iter().map(|p| d.owner(*p, local)).collect();
                    match found {
                        Ok(found) => return Some(found),
                        // Refused (a seccomp filter, an old kernel): the
                        // tables from now on.
                        Err(_) => self.diag = None,
                    }
                }
                from_tables(local, peers)
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = (local, peers);
                None
            }
        }
    }

    /// Reads `/proc/net/tcp` (and `/proc/net/tcp6` when some peer is not
    /// in the first).
    #[cfg(target_os = "linux")]
    pub(super) fn from_tables(local: SocketAddr, peers: &[SocketAddr]) -> Option<Vec<Option<u32>>> {
        let peers: Vec<SocketAddr> = peers.iter().copied().map(canonical).collect();
        let v4 = std::fs::read_to_string("/proc/net/tcp").ok()?;
        let mut found = clients_of(&v4, local);
        if peers.iter().any(|p| !found.contains_key(p)) {
            // Absent when IPv6 is off: then no client socket is IPv6.
            if let Ok(v6) = std::fs::read_to_string("/proc/net/tcp6") {
                found.extend(clients_of(&v6, local));
            }
        }
        Some(peers.iter().map(|p| found.get(p).copied()).collect())
    }

    /// `sock_diag` netlink (linux/inet_diag.h): "which TCP socket has this
    /// local and this remote address?", answered from the kernel's
    /// connection hash. One fixed-size request, one fixed-size answer.
    #[cfg(target_os = "linux")]
    pub(super) mod diag {
        use std::io::{self, Read};
        use std::net::{IpAddr, SocketAddr};
        use std::time::Duration;

        use socket2::{Domain, Protocol, Socket, Type};

        use super::canonical;

        const AF_INET: u8 = 2;
        const AF_INET6: u8 = 10;
        const AF_NETLINK: i32 = 16;
        const NETLINK_SOCK_DIAG: i32 = 4;
        const SOCK_DIAG_BY_FAMILY: u16 = 20;
        const NLM_F_REQUEST: u16 = 1;
        const NLMSG_ERROR: u16 = 2;
        const IPPROTO_TCP: u8 = 6;
        const ENOENT: i32 = 2;
        /// nlmsghdr (16 bytes) + inet_diag_req_v2 (56 bytes).
        pub(crate) const REQUEST_LEN: usize = 72;
        /// Where `idiag_uid` is in an answer: nlmsghdr (16), then in
        /// inet_diag_msg family, state, timer, retrans (4), the socket id
        /// (48), expires, rqueue, wqueue (12).
        const UID_AT: usize = 16 + 4 + 48 + 12;
        /// Where the answer's socket id starts.
        const ID_AT: usize = 16 + 4;

        /// The netlink socket and the number of the last request (an
        /// answer that arrives after its wait ran out is told apart from
        /// the next one's by it).
        pub(crate) struct Diag(Socket, std::cell::Cell<u32>);

        impl Diag {
            pub(crate) fn open() -> io::Result<Diag> {
                let s = Socket::new(
                    Domain::from(AF_NETLINK),
                    Type::DGRAM,
                    Some(Protocol::from(NETLINK_SOCK_DIAG)),
                )?;
                // The kernel answers while the request is being sent; this
                // is only a bound should it not.
                s.set_read_timeout(Some(Duration::from_millis(100)))?;
                Ok(Diag(s, std::cell::Cell::new(0)))
            }

            /// The uid of the socket whose own address is `client` and
            /// whose other end is `server`; `None` when there is none.
            pub(crate) fn owner(
                &self,
                client: SocketAddr,
                server: SocketAddr,
            ) -> io::Result<Option<u32>> {
                let seq = self.1.get().wrapping_add(1);
                self.1.set(seq);
                self.0.send(&request(client, server, seq))?;
                let mut answer = [0u8; 512];
                loop {
                    let n = (&self.0).read(&mut answer)?;
                    let answer = &answer[..n];
                    // Skips a late answer to an earlier request.
                    if answer.get(8..12) == Some(&seq.to_ne_bytes()[..]) {
                        return answer_uid(answer, client, server);
                    }
                }
            }
        }

        /// 16 bytes of an address as `inet_diag_sockid` holds it (network
        /// order; IPv4 in the first 4).
        fn addr_bytes(ip: IpAddr) -> [u8; 16] {
            let mut b = [0u8; 16];
            match ip.to_canonical() {
                IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => b = v6.octets(),
            }
            b
        }

        /// The exact-lookup request for the socket `client` -> `server`.
        pub(crate) fn request(
            client: SocketAddr,
            server: SocketAddr,
            seq: u32,
        ) -> [u8; REQUEST_LEN] {
            let mut r = [0u8; REQUEST_LEN];
            r[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
            r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            r[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
            r[8..12].copy_from_slice(&seq.to_ne_bytes());
            // portid: 0, the kernel.
            r[16] = if client.ip().to_canonical().is_ipv4() {
                AF_INET
            } else {
                AF_INET6
            };
            r[17] = IPPROTO_TCP;
            r[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
            r[24..26].copy_from_slice(&client.port().to_be_bytes());
            r[26..28].copy_from_slice(&server.port().to_be_bytes());
            r[28..44].copy_from_slice(&addr_bytes(client.ip()));
            r[44..60].copy_from_slice(&addr_bytes(server.ip()));
            // interface: any; cookie: none (all ones).
            r[64..72].fill(0xff);
            r
        }

        /// The uid in the kernel's `answer` to [`request`]`(client, server)`:
        /// `None` when it has no such socket.
        pub(crate) fn answer_uid(
            answer: &[u8],
            client: SocketAddr,
            server: SocketAddr,
        ) -> io::Result<Option<u32>> {
            let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected sock_diag answer");
            let u16_at = |i: usize| {
                answer
                    .get(i..i + 2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            };
            let u32_at = |i: usize| {
                answer
                    .get(i..i + 4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            };
            match u16_at(4).ok_or_else(bad)? {
                NLMSG_ERROR => {
                    let errno = u32_at(16).map(|e| -(e as i32)).ok_or_else(bad)?;
                    if errno == ENOENT {
                        Ok(None)
                    } else {
                        Err(io::Error::from_raw_os_error(errno))
                    }
                }
                SOCK_DIAG_BY_FAMILY => {
                    // The socket found must be that very connection (a
                    // lookup may fall back to a listener on that port).
                    let family = *answer.get(16).ok_or_else(bad)?;
                    let id = answer.get(ID_AT..ID_AT + 36).ok_or_else(bad)?;
                    let at = |port: &[u8], ip: &[u8]| {
                        let ip = if family == AF_INET {
                            IpAddr::from([ip[0], ip[1], ip[2], ip[3]])
                        } else {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(ip);
                            IpAddr::from(b).to_canonical()
                        };
                        SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]]))
                    };
                    let same = at(&id[0..2], &id[4..20]) == canonical(client)
                        && at(&id[2..4], &id[20..36]) == canonical(server);
                    let uid = u32_at(UID_AT).ok_or_else(bad)?;
                    Ok(same.then_some(uid))
                }
                _ => Err(bad()),
            }
        }
    }

    /// From the text of `/proc/net/tcp` or `/proc/net/tcp6`: the sockets
    /// connected to `server` (clients), by their own address, with their
    /// uid.
    pub(super) fn clients_of(table: &str, server: SocketAddr) -> HashMap<SocketAddr, u32> {
        let server = canonical(server);
        table
            .lines()
            .filter_map(entry)
            .filter(|(_, remote, _)| *remote == server)
            .map(|(local, _, uid)| (local, uid))
            .collect()
    }

    /// One line of a table: local address, remote address, uid. `None` for
    /// the heading and anything that does not parse.
    ///
    /// `   1: 0100007F:C6FC 0100007F:ED39 01 00000000:00000000 00:00000000 00000000  1000 ...`
    pub(super) fn entry(line: &str) -> Option<(SocketAddr, SocketAddr, u32)> {
        let mut fields = line.split_ascii_whitespace();
        fields.next()?.strip_suffix(':')?; // the slot number
        let local = address(fields.next()?)?;
        let remote = address(fields.next()?)?;
        // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid.
        let uid = fields.nth(4)?.parse().ok()?;
        Some((local, remote, uid))
    }

    /// `0100007F:ED39` (IPv4) or 32 hex digits and a port (IPv6): the
    /// address as the kernel keeps it (network byte order) printed as
    /// 32-bit words in the machine's own order, the port as a number.
    /// IPv4-mapped IPv6 addresses come out as IPv4.
    pub(super) fn address(text: &str) -> Option<SocketAddr> {
        let (ip, port) = text.split_once(':')?;
        if !ip
            .bytes()
            .chain(port.bytes())
            .all(|b| b.is_ascii_hexdigit())
            || port.len() != 4
        {
            return None;
        }
        let word = |i: usize| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok();
        let ip = match ip.len() {
            8 => IpAddr::V4(Ipv4Addr::from(word(0)?.to_ne_bytes())),
            32 => {
                let mut bytes = [0u8; 16];
                for (i, b) in bytes.chunks_exact_mut(4).enumerate() {
                    b.copy_from_slice(&word(i)?.to_ne_bytes());
                }
                IpAddr::V6(Ipv6Addr::from(bytes))
            }
            _ => return None,
        };
        Some(canonical(SocketAddr::new(
            ip,
            u16::from_str_radix(port, 16).ok()?,
        )))
    }

    fn canonical(a: SocketAddr) -> SocketAddr {
        SocketAddr::new(a.ip().to_canonical(), a.port())
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
        /// While true, `fetch` waits.
        hold: (Mutex<bool>, std::sync::Condvar),
    }

    impl Fake {
        fn new(key: &'static str) -> Fake {
            Fake {
                now: Mutex::new(UNIX_EPOCH + Duration::from_secs(T0)),
                fetches: AtomicUsize::new(0),
                fail: AtomicBool::new(false),
                key,
                hold: (Mutex::new(false), std::sync::Condvar::new()),
            }
        }

        /// Holds `fetch` back until [`Fake::release`], or until the
        /// guard is dropped (a failed assertion must not leave the worker
        /// waiting, and the test hanging).
        fn hold(&self) -> Release<'_> {
            *self.hold.0.lock().unwrap() = true;
            Release(self)
        }

        fn release(&self) {
            *self.hold.0.lock().unwrap() = false;
            self.hold.1.notify_all();
        }
    }

    struct Release<'a>(&'a Fake);

    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.release();
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
            let held = self.hold.0.lock().unwrap();
            drop(self.hold.1.wait_while(held, |h| *h).unwrap());
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

    /// Whether the server closed `s` (end of stream or a reset) within
    /// `within`, rather than keeping it open.
    fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
        s.set_read_timeout(Some(within)).unwrap();
        match s.read(&mut [0u8; 64]) {
            Ok(0) => true,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            other => panic!("unexpected read: {other:?}"),
        }
    }

    /// A connection that has sent `e`'s request with the right token.
    fn send_request(e: &Endpoint) -> TcpStream {
        let mut s = TcpStream::connect(e.addr).unwrap();
        write!(
            s,
            "GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
            path_of(e),
            e.token.expose()
        )
        .unwrap();
        s
    }

    fn status_of(mut s: TcpStream) -> u16 {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.get(9..12).and_then(|t| t.parse().ok()).unwrap_or(0)
    }

    #[test]
    fn when_full_the_oldest_connection_without_a_request_is_closed_for_a_new_one() {
        let fake = Fake::new("ASIA");
        serve(&fake, |e| {
            let mut held = idle(e.addr, MAX_CONNECTIONS);
            std::thread::sleep(Duration::from_millis(200));
            // The newest is served (it used to be the one closed)...
            assert_eq!(get_within(e, Duration::from_secs(5)).unwrap(), 200);
            // ...the oldest silent one was closed to make room for it, well
            // before the header deadline, and the next oldest kept.
            assert!(closed_within(&mut held[0], HEADER_TIMEOUT / 4));
            assert!(!closed_within(&mut held[1], Duration::from_millis(100)));
        })
        .unwrap();
    }

    #[test]
    fn a_connection_being_answered_is_not_evicted_the_oldest_silent_one_is() {
        let fake = Fake::new("ASIA");
        let release = fake.hold();
        serve(&fake, |e| {
            // Dropped on a failed assertion too, before `serve` waits for
            // its worker.
            let _release = release;
            // A request waiting for its answer (the provider is held back),
            // older than every silent connection.
            let answering = send_request(e);
            std::thread::sleep(Duration::from_millis(100));
            let mut silent = idle(e.addr, MAX_CONNECTIONS);
            std::thread::sleep(Duration::from_millis(200));
            assert!(closed_within(&mut silent[0], HEADER_TIMEOUT / 4));
            assert!(!closed_within(&mut silent[1], Duration::from_millis(100)));
            fake.release();
            assert_eq!(status_of(answering), 200);
        })
        .unwrap();
    }

    #[test]
    fn an_endpoint_full_of_requests_being_answered_closes_new_connections() {
        let fake = Fake::new("ASIA");
        let release = fake.hold();
        serve(&fake, |e| {
            // Dropped on a failed assertion too, before `serve` waits for
            // its worker.
            let _release = release;
            let answering: Vec<TcpStream> = (0..MAX_CONNECTIONS).map(|_| send_request(e)).collect();
            // Time for the server to read them all (on a busy machine too).
            std::thread::sleep(Duration::from_millis(800));
            let mut extra = TcpStream::connect(e.addr).unwrap();
            assert!(closed_within(&mut extra, HEADER_TIMEOUT / 2));
            fake.release();
            for s in answering {
                assert_eq!(status_of(s), 200);
            }
        })
        .unwrap();
    }

    /// Lines of `/proc/net/tcp` and `/proc/net/tcp6` as a little-endian
    /// machine shows them: a listener on 127.0.0.1:60729 (0xED39), an IPv4
    /// client of uid 1000, the server side of its connection (uid 0), an
    /// IPv6 client of uid 65534 connected through a v4-mapped address, and
    /// an unrelated connection over ::1.
    #[cfg(target_endian = "little")]
    const TABLES: &str = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   1: 0100007F:ED39 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 24289 3 00000000d2c05b26 100 0 0 10 0
   2: 0100007F:ED39 0100007F:C6FC 01 00000000:00000000 00:00000000 00000000     0        0 0 1 000000000fc6f651 20 0 0 10 -1
   4: 0100007F:C6FC 0100007F:ED39 01 00000000:00000000 00:00000000 00000000  1000        0 24291 2 00000000b7151618 20 0 0 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   1: 0000000000000000FFFF00000100007F:C6F4 0000000000000000FFFF00000100007F:ED39 01 00000000:00000000 00:00000000 00000000 65534        0 24290 2 0000000097b4f856 20 0 0 10 -1
   3: 00000000000000000000000001000000:82E4 00000000000000000000000001000000:E4AF 01 00000000:00000000 00:00000000 00000000  1000        0 24293 2 0000000014914506 20 0 0 10 -1
";

    #[cfg(target_endian = "little")]
    #[test]
    fn proc_net_tcp_lines_give_addresses_ports_and_uid() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let lines: Vec<&str> = TABLES.lines().collect();
        assert_eq!(peers::entry(lines[0]), None, "the heading");
        assert_eq!(
            peers::entry(lines[3]),
            Some((addr("127.0.0.1:50940"), addr("127.0.0.1:60729"), 1000))
        );
        // IPv4-mapped IPv6 addresses come out as IPv4.
        assert_eq!(
            peers::entry(lines[5]),
            Some((addr("127.0.0.1:50932"), addr("127.0.0.1:60729"), 65534))
        );
        assert_eq!(
            peers::entry(lines[6]),
            Some((addr("[::1]:33508"), addr("[::1]:58543"), 1000))
        );
        // The words are in the machine's order: 10.0.2.15, not 15.2.0.10.
        assert_eq!(peers::address("0F02000A:0016"), Some(addr("10.0.2.15:22")));
        assert_eq!(
            peers::address("B80D0120000000000000000001000000:01BB"),
            Some(addr("[2001:db8::1]:443"))
        );
        for bad in [
            "0100007F",
            "0100007F:ED3",
            "0100007F:ED399",
            "100007F:ED39",
            "0100007G:ED39",
            "0100007\u{e9}:ED39",
            "0000000000000000FFFF00000100007:ED39",
            "",
        ] {
            assert_eq!(peers::address(bad), None, "{bad:?}");
        }
        assert_eq!(peers::entry("   4: 0100007F:C6FC 0100007F:ED39 01"), None);
        assert_eq!(
            peers::entry("   4: 0100007F:C6FC 0100007F:ED39 01 0:0 0:0 0 -1 0 1"),
            None,
            "a uid that is not a number"
        );
    }

    #[test]
    fn proc_net_tcp_addresses_are_words_in_the_machines_byte_order() {
        let v4 = u32::from_ne_bytes([10, 1, 2, 3]);
        assert_eq!(
            peers::address(&format!("{v4:08X}:0050")),
            Some(SocketAddr::from(([10, 1, 2, 3], 80)))
        );
        let mapped: String = [
            0,
            0,
            u32::from_ne_bytes([0, 0, 0xff, 0xff]),
            u32::from_ne_bytes([127, 0, 0, 1]),
        ]
        .iter()
        .map(|w| format!("{w:08X}"))
        .collect();
        assert_eq!(
            peers::address(&format!("{mapped}:FFFF")),
            Some(SocketAddr::from(([127, 0, 0, 1], 65535)))
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn the_clients_of_the_endpoint_are_found_in_both_tables() {
        let server: SocketAddr = "127.0.0.1:60729".parse().unwrap();
        let found = peers::clients_of(TABLES, server);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[&"127.0.0.1:50940".parse().unwrap()], 1000);
        assert_eq!(found[&"127.0.0.1:50932".parse().unwrap()], 65534);
        // Listed by an IPv6 address, the server is the same.
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:60729".parse().unwrap();
        assert_eq!(peers::clients_of(TABLES, mapped), found);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sock_diag_request_names_the_client_socket_and_its_answer_gives_the_uid() {
        use peers::diag::{answer_uid, request, REQUEST_LEN};
        let client: SocketAddr = "127.0.0.1:50940".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:60729".parse().unwrap();
        let r = request(client, server, 7);
        assert_eq!(
            u32::from_ne_bytes(r[0..4].try_into().unwrap()) as usize,
            REQUEST_LEN
        );
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), 20, "SOCK_DIAG_BY_FAMILY");
        assert_eq!(r[8..12], 7u32.to_ne_bytes(), "the sequence number");
        assert_eq!((r[16], r[17]), (2, 6), "AF_INET, TCP");
        // Ports and addresses in network order, the client's first.
        assert_eq!(r[24..28], [0xc6, 0xfc, 0xed, 0x39]);
        assert_eq!(r[28..32], [127, 0, 0, 1]);
        assert_eq!(r[44..48], [127, 0, 0, 1]);
        assert_eq!(r[64..72], [0xff; 8], "no cookie");
        let v6 = request("[::1]:1".parse().unwrap(), "[::1]:2".parse().unwrap(), 8);
        assert_eq!(v6[16], 10, "AF_INET6");
        assert_eq!(v6[43], 1);

        // The kernel's answer: nlmsghdr, then inet_diag_msg.
        let answer = |family: u8, id: &[u8], uid: u32| {
            let mut a = vec![0u8; 16 + 72];
            a[4..6].copy_from_slice(&20u16.to_ne_bytes());
            a[16] = family;
            a[20..20 + id.len()].copy_from_slice(id);
            a[80..84].copy_from_slice(&uid.to_ne_bytes());
            a
        };
        let id = &r[24..60];
        assert_eq!(
            answer_uid(&answer(2, id, 1000), client, server).unwrap(),
            Some(1000)
        );
        // An IPv6 socket connected through a v4-mapped address.
        let mut mapped = [0u8; 36];
        mapped[0..4].copy_from_slice(&r[24..28]);
        mapped[4..20].copy_from_slice(&Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets());
        mapped[20..36].copy_from_slice(&Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets());
        assert_eq!(
            answer_uid(&answer(10, &mapped, 65534), client, server).unwrap(),
            Some(65534)
        );
        // Some other socket (a listener on the client's port): not it.
        let mut listener = r[24..60].to_vec();
        listener[2..4].fill(0);
        listener[20..36].fill(0);
        assert_eq!(
            answer_uid(&answer(2, &listener, 0), client, server).unwrap(),
            None
        );
        // "No such socket", another error, and nonsense.
        let error = |errno: i32| {
            let mut a = vec![0u8; 36];
            a[4..6].copy_from_slice(&2u16.to_ne_bytes());
            a[16..20].copy_from_slice(&(-errno).to_ne_bytes());
            a
        };
        assert_eq!(answer_uid(&error(2), client, server).unwrap(), None);
        assert!(answer_uid(&error(1), client, server).is_err());
        assert!(answer_uid(&[0u8; 3], client, server).is_err());
        assert!(answer_uid(&answer(2, id, 1)[..40], client, server).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_owner_of_a_live_client_is_ours_and_an_unknown_one_has_none() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = TcpStream::connect(server).unwrap();
        let mut peers_of = vec![client.local_addr().unwrap()];
        // An IPv6 socket reaching it through a v4-mapped address, where
        // IPv6 is on (it is listed in /proc/net/tcp6).
        let mapped = TcpStream::connect(("::ffff:127.0.0.1", server.port())).ok();
        if let Some(m) = &mapped {
            peers_of.push(m.local_addr().unwrap());
        }
        // An address no socket is connected from.
        peers_of.push(SocketAddr::from(([127, 0, 0, 2], 1)));
        let me = rustix::process::geteuid().as_raw();
        let by_diag = peers::diag::Diag::open().expect("sock_diag netlink");
        let by_diag: Vec<Option<u32>> = peers_of
            .iter()
            .map(|p| by_diag.owner(*p, server).unwrap())
            .collect();
        let by_tables = peers::from_tables(server, &peers_of).expect("/proc/net/tcp");
        assert_eq!(by_diag, by_tables);
        let owners = peers::Lookup::new().owners(server, &peers_of).unwrap();
        assert_eq!(owners, by_diag);
        let (last, live) = owners.split_last().unwrap();
        assert!(live.iter().all(|o| *o == Some(me)), "{owners:?}");
        assert_eq!(*last, None, "{owners:?}");
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
