//! A minimal HTTP/1.1 client for the loopback stand-ins' control and
//! "browser" URLs; plain std, so that `benches/` includes it too
//! (`#[path]`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A minimal HTTP/1.1 request to `path` on a loopback `endpoint`
/// (`http://127.0.0.1:P`); with an empty `path`, `endpoint` may be a full
/// URL (`http://127.0.0.1:P/device?user_code=X`). `(status, body)`.
pub fn http(endpoint: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let rest = endpoint.strip_prefix("http://").expect("http URL");
    let (host, base_path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let target = if base_path.is_empty() {
        path.to_string()
    } else {
        format!("/{base_path}")
    };
    let mut s = TcpStream::connect(host).expect("connect to the stand-in");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read the answer");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}
