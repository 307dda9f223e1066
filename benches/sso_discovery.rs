//! Identity Center discovery of many accounts through the loopback stand-in
//! (`scripts/sso_standin.py`), at the portal's 20-calls-a-second pace:
//! ListAccounts (100 a page) then ListAccountRoles for every account.
//! Reports figures only. Run with `scripts/bench_sso` (or
//! `cargo bench --bench sso_discovery`); `SSO_BENCH_ACCOUNTS` (default 1000)
//! sets the number of accounts, `SSO_BENCH_LATENCY_MS` (default 0) adds a
//! per-call delay on the stand-in, as a far-away portal has.

use rolepick::aws::sso::{DeviceAuthorization, Endpoints, Portal, PortalOptions};
use rolepick::cache::Cache;
use rolepick::clock::SystemClock;
use rolepick::sso::cache::TokenCache;
use rolepick::sso::token::{self as sso_token, SignIn, SignInUi, SsoSession, Stores};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[path = "../tests/it/support/http.rs"]
mod http;
use http::http;

struct Approve;

impl SignInUi for Approve {
    fn show(&self, auth: &DeviceAuthorization) {
        http(&auth.verification_uri_complete, "GET", "", "");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let accounts: usize = std::env::var("SSO_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let latency = std::env::var("SSO_BENCH_LATENCY_MS").unwrap_or_else(|_| "0".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::Builder::new()
        .prefix("rolepick-bench-sso-")
        .tempdir()
        .expect("temp dir");
    let mut child = Command::new("python3")
        .arg(root.join("scripts/sso_standin.py"))
        .args(["--accounts", &accounts.to_string(), "--page-size", "100"])
        // Throttle above the documented pace, as the real portal does.
        .args(["--rate-limit", "20", "--latency-ms", &latency])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3 scripts/sso_standin.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("stand-in endpoint");
    let endpoint = serde_json::from_str::<serde_json::Value>(&line).expect("endpoint JSON")
        ["endpoint"]
        .as_str()
        .expect("endpoint")
        .to_string();

    let session = SsoSession {
        cache_id: "bench".into(),
        start_url: "https://d-bench.awsapps.com/start".into(),
        region: "eu-west-1".into(),
        scopes: vec![],
    };
    let endpoints = Endpoints::at(&endpoint);
    let tokens = TokenCache::at(tmp.path().join(".aws/sso/cache"));
    let locks = Cache::at(tmp.path().join("cache"));
    let stores = Stores {
        endpoints: &endpoints,
        tokens: &tokens,
        locks: &locks,
        clock: &SystemClock,
    };
    let rt = rolepick::aws::runtime().expect("runtime");
    let token = rt
        .block_on(sso_token::token(
            &session,
            stores,
            SignIn::Allowed(&Approve),
        ))
        .expect("sign in at the stand-in");
    // Count only the discovery's calls.
    assert_eq!(http(&endpoint, "POST", "/_reset", "").0, 200);

    let first = AtomicUsize::new(0);
    let started = Instant::now();
    let first_at = std::sync::Mutex::new(None);
    let portal = Portal::new(&endpoints, "eu-west-1", &token, PortalOptions::default());
    let found = rt
        .block_on(portal.discover(&|_| {
            if first.fetch_add(1, Ordering::SeqCst) == 0 {
                *first_at.lock().unwrap() = Some(started.elapsed());
            }
        }))
        .expect("discovery");
    let took = started.elapsed();
    let (_, stats) = http(&endpoint, "GET", "/_stats", "");
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("stats JSON");
    let count = |k: &str| stats["counts"][k].as_u64().unwrap_or(0);
    let calls = count("ListAccounts") + count("ListAccountRoles");
    let throttled = count("ListAccounts:429") + count("ListAccountRoles:429");
    let roles: usize = found.iter().map(|a| a.roles.len()).sum();
    let floor = (calls.saturating_sub(1)) as f64 / 20.0;
    println!("Identity Center discovery through the stand-in (latency {latency} ms per call)");
    println!("  accounts found        {}", found.len());
    println!("  roles found           {roles}");
    println!(
        "  portal calls          {calls} ({} ListAccounts, {} ListAccountRoles)",
        count("ListAccounts"),
        count("ListAccountRoles")
    );
    println!("  answered 429          {throttled}");
    println!(
        "  first account's roles {:.2?}",
        first_at.lock().unwrap().unwrap_or_default()
    );
    println!("  total                 {took:.2?}");
    println!(
        "  pace                  {:.1} calls/s (floor at 20/s: {floor:.1} s)",
        calls as f64 / took.as_secs_f64()
    );
    let _ = child.kill();
    let _ = child.wait();
}
