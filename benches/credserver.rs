//! The credential endpoint answering from memory: one whole HTTP request
//! over loopback (connect, GET with the token, read the JSON, close), as an
//! SDK makes it. The issue asks for under 1 ms.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use rolepick::aws::Credentials;
use rolepick::credserver::{serve, Client, Provider, Unavailable};
use rolepick::vault::secret::SecretString;

struct Fixed;

impl Provider for Fixed {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }
    fn refresh_before(&self) -> Duration {
        Duration::from_secs(300)
    }
    fn fetch(&self, _: &Client) -> Result<Credentials, Unavailable> {
        Ok(Credentials {
            access_key_id: "ASIAQXAMPLEXAMPLE123".into(),
            secret_access_key: SecretString::new("s".repeat(40)),
            session_token: SecretString::new("t".repeat(800)),
            expiration: self.now() + Duration::from_secs(3600),
        })
    }
}

fn request(c: &mut Criterion) {
    serve(&Fixed, |ep| {
        let path = ep
            .url
            .split_once(&ep.addr.to_string())
            .unwrap()
            .1
            .to_string();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\r\n",
            ep.token.expose()
        );
        let mut buf = Vec::with_capacity(2048);
        c.bench_function("credserver: GET credentials from memory", |b| {
            b.iter(|| {
                let mut s = TcpStream::connect(ep.addr).unwrap();
                s.write_all(req.as_bytes()).unwrap();
                buf.clear();
                s.read_to_end(&mut buf).unwrap();
                assert!(buf.starts_with(b"HTTP/1.1 200"));
            });
        });
    })
    .unwrap();
}

criterion_group!(benches, request);
criterion_main!(benches);
