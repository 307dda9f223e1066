//! A recording, fault-injecting HTTP/1.1 proxy on loopback in front of moto:
//! counts every request's `Action` and answers chosen ones with a canned
//! response (an STS error, throttling, a reply lost after the call took
//! effect).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(60);

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

    /// Answer every request with this `Action` with `status`/`body`.
    pub fn fail_always(&self, action: &str, status: u16, body: impl Into<String>) {
        self.inject_always(action, Canned::new(status, body));
    }

    /// Answer the `n`th (1-based, counted over the proxy's life) request with
    /// this `Action` with `canned` instead of forwarding it.
    pub fn inject_nth(&self, action: &str, n: usize, canned: Canned) {
        assert!(n >= 1, "inject_nth counts from 1");
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
