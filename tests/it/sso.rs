//! IAM Identity Center groundwork against the loopback stand-in
//! (`scripts/sso_standin.py`): first the stand-in proved with boto3 and
//! botocore as the reference client, then rolepick's own modules
//! (`aws::sso`, `sso_cache`, `sso_token`) against it, and interop both ways
//! through the token cache shared with the AWS tools.

use crate::support::sso::{http, SsoHome, Standin, ACCOUNT, REGION, ROLE, SESSION, START_URL};
use crate::support::{show, text, Moto};
use rolepick::aws::sso::{DeviceAuthorization, Endpoints, Portal, PortalOptions, SsoError};
use rolepick::cache::Cache;
use rolepick::clock::SystemClock;
use rolepick::secret::SecretString;
use rolepick::sso::cache::{cache_key, TokenCache};
use rolepick::sso::token::{
    self as sso_token, Shown, SignIn, SignInUi, SsoSession, Stores, TokenError,
};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A browser that approves (visits `verificationUriComplete`) and counts.
#[derive(Default)]
struct Browser {
    shown: AtomicUsize,
    stay_away: bool,
}

impl SignInUi for Browser {
    fn show(&self, auth: &DeviceAuthorization) {
        self.shown.fetch_add(1, Ordering::SeqCst);
        assert!(auth.verification_uri_complete.contains(&auth.user_code));
        if !self.stay_away {
            let (status, body) = http(&auth.verification_uri_complete, "GET", "", "");
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// What rolepick's modules need, pointed at one sandbox HOME and stand-in.
struct Rp {
    session: SsoSession,
    tokens: TokenCache,
    locks: Cache,
    endpoints: Endpoints,
}

impl Rp {
    fn new(home: &SsoHome, standin: &Standin) -> Rp {
        Rp {
            session: SsoSession {
                cache_id: SESSION.into(),
                start_url: START_URL.into(),
                region: REGION.into(),
                scopes: vec!["sso:account:access".into()],
            },
            tokens: TokenCache::at(home.token_dir()),
            locks: Cache::at(home.rolepick_cache()),
            endpoints: Endpoints::at(standin.endpoint()),
        }
    }

    fn stores(&self) -> Stores<'_> {
        Stores {
            endpoints: &self.endpoints,
            tokens: &self.tokens,
            locks: &self.locks,
            clock: &SystemClock,
        }
    }

    fn token(&self, sign_in: SignIn<'_>) -> Result<SecretString, TokenError> {
        block_on(sso_token::token(&self.session, self.stores(), sign_in))
    }

    fn portal<'a>(&self, token: &'a SecretString, opts: PortalOptions) -> Portal<'a> {
        Portal::new(&self.endpoints, REGION, token, opts)
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// The number in an access token the stand-in issued (`aoa-N-...`).
fn token_n(t: &SecretString) -> u64 {
    t.expose().split('-').nth(1).unwrap().parse().unwrap()
}

fn grants(standin: &Standin, grant: &str) -> usize {
    standin
        .requests("CreateToken")
        .iter()
        .filter(|r| r["grant"] == grant && r["status"] == 200)
        .count()
}

const REFRESH: &str = "refresh_token";

/// Refresh-grant CreateToken calls the stand-in refused (a used or unknown
/// refresh token: what a dropped write-back would cause).
fn refused_refreshes(standin: &Standin) -> usize {
    standin
        .requests("CreateToken")
        .iter()
        .filter(|r| r["grant"] == REFRESH && r["status"] != 200)
        .count()
}

// ---------------------------------------------------------------------------
// the stand-in, proved with boto3 / botocore
// ---------------------------------------------------------------------------

#[test]
fn boto3_device_flow_waits_for_the_browser_then_issues_a_token() {
    let standin = Standin::start(None, &["--interval", "1"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let out = home.boto3("device-flow", &standin);
    let seen: Vec<&str> = out["errors_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        &seen[..2],
        ["AuthorizationPendingException", "SlowDownException"],
        "{out}"
    );
    assert_eq!(out["token"], true, "{out}");
    assert_eq!(out["user_code_in_url"], true);
    assert_eq!(out["refresh_token_with_scope"], true, "{out}");
    assert_eq!(out["refresh_token_without_scope"], false, "{out}");
    assert_eq!(standin.count("StartDeviceAuthorization"), 2);
    let scopes: Vec<_> = standin.stats()["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["scopes"].clone())
        .collect();
    assert_eq!(scopes[0], serde_json::json!(["sso:account:access"]));
    assert_eq!(standin.requests("Browser").len(), 2);
}

#[test]
fn botocore_refreshes_an_expiring_token_through_the_standin_then_gets_role_credentials() {
    let moto = Moto::start();
    // Every token has 10 minutes: inside botocore's 15-minute refresh window.
    let standin = Standin::start(Some(&moto.endpoint()), &["--token-ttl", "600"]);
    let home = SsoHome::new(&moto.endpoint(), standin.endpoint());
    let signed = home.boto3("sign-in", &standin);
    let out = home.boto3("use", &standin);
    assert_eq!(out["refreshed"], true, "{out}");
    assert_eq!(out["cache_has_new_refresh_token"], true, "{out}");
    assert_eq!(out["cache_token_is_the_one_used"], true, "{out}");
    assert_eq!(out["cache_mode"], "0o600");
    assert_ne!(out["token_n"], signed["token_n"]);
    assert_eq!(grants(&standin, REFRESH), 1);
    assert_eq!(standin.count("GetRoleCredentials:200"), 1);
    assert_eq!(out["accounts"], 3);

    // Those credentials, used by the aws CLI against moto, are the SSO role.
    let mut aws = home.aws();
    for (k, v) in out["credentials"].as_object().unwrap() {
        aws.env(k, v.as_str().unwrap());
    }
    let who = aws
        .args(["sts", "get-caller-identity", "--region", REGION])
        .args(["--endpoint-url", &moto.endpoint()])
        .output()
        .unwrap();
    assert!(who.status.success(), "{}", show(&who));
    let arn = serde_json::from_slice::<serde_json::Value>(&who.stdout).unwrap()["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_{ROLE}_"
        )),
        "{arn}"
    );

    // And the aws CLI's own SSO chain, from the profile, gets the same role.
    let who = home
        .aws()
        .args(["sts", "get-caller-identity", "--profile", "sso-dev"])
        .output()
        .unwrap();
    assert!(who.status.success(), "{}\n{}", show(&who), standin.log());
    assert!(
        text(&who.stdout).contains(&format!("assumed-role/AWSReservedSSO_{ROLE}_")),
        "{}",
        show(&who)
    );
}

#[test]
fn boto3_paginator_sees_every_account_once() {
    let standin = Standin::start(None, &["--accounts", "45", "--page-size", "10"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    let out = home.boto3("paginate", &standin);
    assert_eq!(out["pages"], 5, "{out}");
    assert_eq!(out["accounts"], 45);
    assert_eq!(out["distinct"], 45);
    let tokens: Vec<_> = standin
        .requests("ListAccounts")
        .iter()
        .map(|r| r["query"]["next_token"].clone())
        .collect();
    assert_eq!(tokens[0], serde_json::Value::Null);
    assert_eq!(tokens[4], "40");
}

#[test]
fn botocore_parses_429_401_and_no_access_as_client_errors() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    standin.control(r#"{"fail_next": {"op": "ListAccounts", "status": 429, "count": 1}}"#);
    let out = home.boto3("errors", &standin);
    assert_eq!(
        out["throttled"]["code"], "TooManyRequestsException",
        "{out}"
    );
    assert_eq!(out["throttled"]["status"], 429);
    assert_eq!(out["unauthorized"]["code"], "UnauthorizedException");
    assert_eq!(out["unauthorized"]["status"], 401);
    assert_eq!(out["no_access"]["code"], "ForbiddenException");
    assert_eq!(out["no_access"]["status"], 403);
}

// ---------------------------------------------------------------------------
// rolepick's modules against the stand-in, and interop with botocore
// ---------------------------------------------------------------------------

#[test]
fn rolepick_signs_in_writes_the_cli_cache_and_botocore_refreshes_from_it() {
    let standin = Standin::start(None, &["--token-ttl", "600"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let browser = Browser::default();
    let t1 = rp.token(SignIn::Allowed(&browser)).unwrap();
    assert_eq!(browser.shown.load(Ordering::SeqCst), 1);
    let registered = &standin.stats()["clients"][0];
    assert_eq!(
        registered["scopes"],
        serde_json::json!(["sso:account:access"])
    );
    let file = home
        .token_dir()
        .join(format!("{}.json", cache_key(SESSION)));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for field in [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    ] {
        assert!(cached.get(field).is_some(), "no {field} in {cached}");
    }

    // botocore takes it from there: refreshes with rolepick's refresh token.
    let out = home.boto3("use --no-credentials", &standin);
    assert_eq!(out["refreshed"], true, "{out}");
    assert!(out["token_n"].as_u64().unwrap() > token_n(&t1));
    assert_eq!(refused_refreshes(&standin), 0, "no refresh was refused");

    // ...and rolepick refreshes with the refresh token botocore wrote back.
    let t3 = rp.token(SignIn::Never).unwrap();
    assert!(token_n(&t3) > out["token_n"].as_u64().unwrap());
    assert_eq!(grants(&standin, REFRESH), 2);
    assert_eq!(refused_refreshes(&standin), 0);
    assert_eq!(
        standin.count("StartDeviceAuthorization"),
        1,
        "one sign-in in all"
    );
}

#[test]
fn a_token_botocore_wrote_serves_rolepick_and_refreshes_are_shared() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let signed = home.boto3("sign-in", &standin);
    let rp = Rp::new(&home, &standin);
    // Eight hours left: used as it is, no OIDC call.
    let t = rp.token(SignIn::Never).unwrap();
    assert_eq!(token_n(&t), signed["token_n"].as_u64().unwrap());
    assert_eq!(standin.count("CreateToken:200"), 1, "boto3's sign-in only");
    let accounts = block_on(rp.portal(&t, PortalOptions::default()).list_accounts()).unwrap();
    assert_eq!(accounts.len(), 3);

    // Now every new token has 10 minutes: rolepick refreshes first...
    standin.control(r#"{"token_ttl": 600}"#);
    let file = home
        .token_dir()
        .join(format!("{}.json", cache_key(SESSION)));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["expiresAt"] = "2001-01-01T00:00:00Z".into();
    v["somethingBotocoreKeeps"] = "kept".into();
    std::fs::write(&file, v.to_string()).unwrap();
    let t2 = rp.token(SignIn::Never).unwrap();
    assert!(token_n(&t2) > token_n(&t));
    assert_eq!(grants(&standin, REFRESH), 1);
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(after["accessToken"], t2.expose());
    assert_ne!(
        after["refreshToken"], v["refreshToken"],
        "new refresh token written back"
    );
    assert_eq!(after["somethingBotocoreKeeps"], "kept");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // ...then botocore refreshes with the refresh token rolepick wrote back.
    let out = home.boto3("use --no-credentials", &standin);
    assert_eq!(out["refreshed"], true, "{out}");
    assert_eq!(grants(&standin, REFRESH), 2);
    assert_eq!(refused_refreshes(&standin), 0, "no refresh was refused");
}

#[test]
fn six_threads_needing_a_token_at_once_start_one_device_authorization() {
    let standin = Standin::start(None, &["--interval", "1"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let browser = Browser::default();
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| rp.token(SignIn::Allowed(&browser)).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().expose().to_string())
            .collect()
    });
    assert_eq!(standin.count("StartDeviceAuthorization"), 1);
    assert_eq!(standin.count("RegisterClient"), 1);
    assert_eq!(browser.shown.load(Ordering::SeqCst), 1, "one browser tab");
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "all six got the same token"
    );
}

#[test]
fn portal_discovery_is_paginated_and_paced_at_20_calls_a_second() {
    // The stand-in throttles above 20 calls a second, as the portal does.
    let standin = Standin::start(
        None,
        &["--accounts", "30", "--page-size", "7", "--rate-limit", "20"],
    );
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    let rp = Rp::new(&home, &standin);
    let t = rp.token(SignIn::Never).unwrap();
    let started = Instant::now();
    let seen = AtomicUsize::new(0);
    let found = block_on(rp.portal(&t, PortalOptions::default()).discover(&|_| {
        seen.fetch_add(1, Ordering::SeqCst);
    }))
    .unwrap();
    let took = started.elapsed();
    assert_eq!(found.len(), 30);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        30,
        "progress for every account"
    );
    assert_eq!(found[29].account.account_name, "account-0029");
    assert_eq!(found[0].roles, ["AdministratorAccess", "ReadOnlyAccess"]);
    assert_eq!(standin.count("ListAccounts"), 5, "30 accounts, 7 a page");
    assert_eq!(standin.count("ListAccountRoles"), 30);
    assert_eq!(
        standin.count("ListAccountRoles:429"),
        0,
        "paced under the limit"
    );
    assert_eq!(standin.count("ListAccounts:429"), 0);
    // 35 calls at 20 a second: at least 34 gaps of 50 ms.
    assert!(took >= Duration::from_millis(1700), "{took:?}");
    let mut times: Vec<f64> = standin.stats()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["op"] == "ListAccounts" || r["op"] == "ListAccountRoles")
        .map(|r| r["t"].as_f64().unwrap())
        .collect();
    times.sort_by(f64::total_cmp);
    let busiest = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|&&u| u < times[i] + 1.0)
                .count()
        })
        .max()
        .unwrap();
    // One more than the pace allows covers arrival jitter at the window's edge.
    assert!(busiest <= 21, "{busiest} portal calls within one second");
}

#[test]
fn a_429_backs_off_and_retries_without_a_sign_in() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    let rp = Rp::new(&home, &standin);
    let t = rp.token(SignIn::Never).unwrap();
    standin.control(r#"{"fail_next": {"op": "ListAccounts", "status": 429, "count": 2}}"#);
    let opts = PortalOptions {
        initial_backoff: Duration::from_millis(100),
        ..PortalOptions::default()
    };
    let accounts = block_on(rp.portal(&t, opts.clone()).list_accounts()).unwrap();
    assert_eq!(accounts.len(), 3);
    assert_eq!(standin.count("ListAccounts:429"), 2);
    assert_eq!(standin.count("ListAccounts:200"), 1);
    assert_eq!(
        standin.count("StartDeviceAuthorization"),
        1,
        "only boto3's sign-in"
    );

    // Throttled past every attempt: a typed error, still no sign-in.
    standin.control(r#"{"fail_next": {"op": "*", "status": 429, "count": 100}}"#);
    let e = block_on(
        rp.portal(
            &t,
            PortalOptions {
                max_attempts: 3,
                ..opts
            },
        )
        .list_accounts(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        SsoError::Throttled {
            op: "ListAccounts",
            attempts: 3
        }
    );
    assert_eq!(standin.count("StartDeviceAuthorization"), 1);
    assert_eq!(rolepick::error::Error::from(e).exit_code(), 4);
}

#[test]
fn a_burst_above_the_portal_limit_is_throttled_and_recovers_by_backoff() {
    let standin = Standin::start(None, &["--accounts", "40", "--rate-limit", "20"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    let rp = Rp::new(&home, &standin);
    let t = rp.token(SignIn::Never).unwrap();
    // Far above the pace on purpose: the stand-in must throttle it.
    let unpaced = PortalOptions {
        calls_per_second: 1000.0,
        initial_backoff: Duration::from_millis(200),
        max_attempts: 10,
        ..PortalOptions::default()
    };
    let found = block_on(rp.portal(&t, unpaced).discover(&|_| {})).unwrap();
    assert_eq!(found.len(), 40);
    assert!(
        standin.count("ListAccountRoles:429") > 0,
        "the burst was throttled"
    );
    assert_eq!(standin.count("ListAccountRoles:200"), 40);
    assert_eq!(
        standin.count("StartDeviceAuthorization"),
        1,
        "only boto3's sign-in"
    );
    assert_eq!(standin.count("RegisterClient"), 1);
}

#[test]
fn a_401_says_token_invalid_and_the_next_token_comes_by_refresh() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let browser = Browser::default();
    let t = rp.token(SignIn::Allowed(&browser)).unwrap();
    standin.control(r#"{"revoke": true}"#);
    let e = block_on(rp.portal(&t, PortalOptions::default()).list_accounts()).unwrap_err();
    assert_eq!(e, SsoError::TokenInvalid);
    assert!(e.to_string().contains("sign in again"));
    assert_eq!(rolepick::error::Error::from(e).exit_code(), 3);
    // The cache still holds that token with hours left; it is not handed out again.
    let t2 = block_on(sso_token::token_after_unauthorized(
        &rp.session,
        rp.stores(),
        SignIn::Allowed(&browser),
        &t,
    ))
    .unwrap();
    assert_ne!(t2, t);
    assert_eq!(grants(&standin, REFRESH), 1);
    assert_eq!(
        browser.shown.load(Ordering::SeqCst),
        1,
        "no second browser tab"
    );
    assert_eq!(
        block_on(rp.portal(&t2, PortalOptions::default()).list_accounts())
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn role_credentials_name_the_sso_role_and_an_unassigned_role_is_named_back() {
    let moto = Moto::start();
    let standin = Standin::start(Some(&moto.endpoint()), &[]);
    let home = SsoHome::new(&moto.endpoint(), standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let t = rp.token(SignIn::Allowed(&Browser::default())).unwrap();
    let portal = rp.portal(&t, PortalOptions::default());
    let c = block_on(portal.role_credentials(ACCOUNT, ROLE)).unwrap();
    let left = c
        .expiration
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3000), "{left:?}");
    let who = home
        .aws()
        .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", c.secret_access_key.expose())
        .env("AWS_SESSION_TOKEN", c.session_token.expose())
        .args(["sts", "get-caller-identity", "--region", REGION])
        .output()
        .unwrap();
    assert!(who.status.success(), "{}", show(&who));
    assert!(
        text(&who.stdout).contains(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_{ROLE}_"
        )),
        "{}",
        show(&who)
    );
    let e = block_on(portal.role_credentials("999999999999", "Nope")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SsoError::NoAccess { .. }), "{e:?}");
    assert!(
        msg.contains("999999999999") && msg.contains("Nope"),
        "{msg}"
    );
}

#[test]
fn denied_in_the_browser_stops_with_denied_and_writes_no_token() {
    let standin = Standin::start(None, &[]);
    standin.control(r#"{"on_visit": "deny"}"#);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let e = rp.token(SignIn::Allowed(&Browser::default())).unwrap_err();
    assert!(matches!(e, TokenError::Sso(SsoError::Denied)), "{e:?}");
    assert_eq!(rolepick::error::Error::from(e).exit_code(), 3);
    assert!(!home
        .token_dir()
        .join(format!("{}.json", cache_key(SESSION)))
        .exists());
}

#[test]
fn a_device_code_that_runs_out_stops_with_expired() {
    let standin = Standin::start(None, &["--device-code-ttl", "2", "--interval", "1"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let away = Browser {
        stay_away: true,
        ..Browser::default()
    };
    let e = rp.token(SignIn::Allowed(&away)).unwrap_err();
    assert!(
        matches!(e, TokenError::Sso(SsoError::DeviceCodeExpired)),
        "{e:?}"
    );
    assert!(
        standin.count("CreateToken") >= 1,
        "it polled before giving up"
    );
}

#[test]
fn without_a_token_and_no_sign_in_allowed_the_error_says_sign_in() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let e = rp.token(SignIn::Never).unwrap_err();
    assert!(
        matches!(&e, TokenError::Sso(SsoError::SignInRequired { session }) if session == SESSION),
        "{e:?}"
    );
    assert_eq!(standin.count("RegisterClient"), 0);
}

#[test]
fn logout_ends_the_session_on_the_server_and_removes_the_token() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let t = rp.token(SignIn::Allowed(&Browser::default())).unwrap();
    block_on(sso_token::logout(&rp.session, rp.stores())).unwrap();
    assert_eq!(standin.count("Logout:200"), 1);
    assert!(!home
        .token_dir()
        .join(format!("{}.json", cache_key(SESSION)))
        .exists());
    let e = block_on(rp.portal(&t, PortalOptions::default()).list_accounts()).unwrap_err();
    assert_eq!(e, SsoError::TokenInvalid);
}

#[test]
fn an_unreachable_oidc_endpoint_is_a_network_error() {
    let home = SsoHome::new("http://127.0.0.1:9", "http://127.0.0.1:9");
    let standin_less = Rp {
        session: SsoSession {
            cache_id: SESSION.into(),
            start_url: START_URL.into(),
            region: REGION.into(),
            scopes: vec![],
        },
        tokens: TokenCache::at(home.token_dir()),
        locks: Cache::at(home.rolepick_cache()),
        // Port 9 (discard) has nobody listening on loopback.
        endpoints: Endpoints::at("http://127.0.0.1:9"),
    };
    let e = standin_less
        .token(SignIn::Allowed(&Browser::default()))
        .unwrap_err();
    assert!(
        matches!(e, TokenError::Sso(SsoError::Unreachable { .. })),
        "{e:?}"
    );
    assert_eq!(rolepick::error::Error::from(e).exit_code(), 4);
}

/// A sign-in nobody would approve: counted, and given up at once (so a
/// lost race shows as a count, not as a ten-minute wait).
#[derive(Default)]
struct NobodyThere {
    shown: AtomicUsize,
}

impl SignInUi for NobodyThere {
    fn show(&self, _: &DeviceAuthorization) {
        self.shown.fetch_add(1, Ordering::SeqCst);
    }

    fn present(&self, auth: &DeviceAuthorization) -> Shown {
        self.show(auth);
        Shown::Nobody
    }
}

#[test]
fn a_refresh_racing_botocore_uses_the_token_botocore_wrote_and_never_signs_in() {
    // Every token has 10 minutes: inside both refresh windows, so every
    // turn of either side refreshes. The OIDC latency widens the moment in
    // which both hold the same single-use refresh token.
    let standin = Standin::start(None, &["--token-ttl", "600"]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    standin.control(r#"{"oidc_latency_ms": 60}"#);
    standin.reset();
    let rp = Rp::new(&home, &standin);
    let ui = NobodyThere::default();
    let mut turns = 0;
    let mut failures = Vec::new();
    let boto3 = std::thread::scope(|s| {
        let racer = s.spawn(|| home.boto3("race 8", &standin));
        while !racer.is_finished() {
            turns += 1;
            if let Err(e) = rp.token(SignIn::Allowed(&ui)) {
                failures.push(e.to_string());
            }
        }
        racer.join().unwrap()
    });
    let refused = refused_refreshes(&standin);
    eprintln!(
        "rolepick turns {turns}, boto3 {boto3}, refused refreshes {refused}, refresh grants {}",
        grants(&standin, REFRESH)
    );
    assert!(failures.is_empty(), "rolepick failed: {failures:?}");
    assert_eq!(
        standin.count("StartDeviceAuthorization"),
        0,
        "a device sign-in was started"
    );
    assert_eq!(ui.shown.load(Ordering::SeqCst), 0, "a browser tab opened");
    assert!(boto3["new_tokens"].as_u64().unwrap() > 0, "{boto3}");
    // The races did happen: some refreshes were refused.
    assert!(refused > 0, "no race in {turns} turns");
}

#[test]
fn botocore_reads_a_forgotten_registration_as_invalid_client() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    home.boto3("sign-in", &standin);
    standin.control(r#"{"forget_clients": true}"#);
    let out = home.boto3("invalid-client", &standin);
    for call in ["refresh", "start"] {
        assert_eq!(out[call]["code"], "InvalidClientException", "{out}");
        assert_eq!(out[call]["status"], 401, "{out}");
    }
}

#[test]
fn a_reused_registration_refused_at_start_device_authorization_is_registered_anew() {
    let standin = Standin::start(None, &[]);
    let home = SsoHome::new("http://127.0.0.1:9", standin.endpoint());
    let rp = Rp::new(&home, &standin);
    let browser = Browser::default();
    rp.token(SignIn::Allowed(&browser)).unwrap();
    // An expired token whose refresh token is refused (invalid_grant): the
    // sign-in reuses the registration, which Identity Center then refuses.
    let file = home
        .token_dir()
        .join(format!("{}.json", cache_key(SESSION)));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["expiresAt"] = "2001-01-01T00:00:00Z".into();
    v["refreshToken"] = "aor-0-spent".into();
    std::fs::write(&file, v.to_string()).unwrap();
    standin
        .control(r#"{"fail_next": {"op": "StartDeviceAuthorization", "status": 401, "count": 1}}"#);
    let t = rp.token(SignIn::Allowed(&browser)).unwrap();
    assert_eq!(standin.count("StartDeviceAuthorization:401"), 1);
    assert_eq!(standin.count("RegisterClient"), 2, "registered anew");
    assert_eq!(
        browser.shown.load(Ordering::SeqCst),
        2,
        "signed in once more"
    );
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(after["accessToken"], t.expose());
    assert_ne!(after["clientId"], v["clientId"]);
}

#[test]
fn an_oidc_error_without_a_message_is_named_by_its_code_alone() {
    let e = SsoError::Service {
        op: "StartDeviceAuthorization",
        code: "InvalidClientException".into(),
        message: String::new(),
    };
    assert_eq!(
        e.to_string(),
        "StartDeviceAuthorization: InvalidClientException"
    );
}
