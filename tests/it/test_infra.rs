//! Tests of the test infrastructure itself: moto provisioning, the recording /
//! fault-injecting proxy, and the sandbox. They use the aws CLI, not rolepick, so
//! they pass independently of the engine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::{Canned, Moto, Proxy, Sandbox, Stack, MFA_CODE};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// `aws` with explicit (dummy or temporary) keys, no profile, through `endpoint`.
fn aws_with_keys(
    sb: &Sandbox,
    endpoint: &str,
    keys: (&str, &str, Option<&str>),
) -> assert_cmd::Command {
    let mut c = sb.aws();
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_RETRY_MODE", "standard");
    if let Some(t) = keys.2 {
        c.env("AWS_SESSION_TOKEN", t);
    }
    c
}

const DUMMY: (&str, &str, Option<&str>) = ("AKIADUMMYDUMMYDUMMY0", "dummy-secret", None);

#[test]
fn provision_creates_user_mfa_and_roles_in_three_accounts() {
    let moto = Moto::start();
    let prov = moto.provision();
    assert_eq!(prov.user_arn, "arn:aws:iam::123456789012:user/primary");
    assert_eq!(prov.mfa_serial, "arn:aws:iam::123456789012:mfa/primary");
    assert_eq!(
        prov.account_ids,
        ["123456789012", "444455556666", "777788889999"]
    );
    let arns: Vec<_> = prov.roles.iter().map(|r| r.role_arn.as_str()).collect();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::123456789012:role/primary-role",
            "arn:aws:iam::444455556666:role/developer",
            "arn:aws:iam::777788889999:role/readonly",
        ]
    );
    assert_eq!(prov.role("dev").duration_seconds.as_deref(), Some("7200"));

    // The walkthrough by hand with the aws CLI: the user key, an MFA session,
    // then a role in another account, whose keys see that account's roles only.
    let sb = Sandbox::new(&moto.endpoint(), &prov);
    let me = sb
        .aws()
        .args(["sts", "get-caller-identity", "--profile", "primary"])
        .output()
        .unwrap();
    assert!(me.status.success(), "{me:?}");
    assert_eq!(json(&me)["Arn"], prov.user_arn);

    let key = (
        prov.access_key_id.as_str(),
        prov.secret_access_key.as_str(),
        None,
    );
    let session = aws_with_keys(&sb, &moto.endpoint(), key)
        .args([
            "sts",
            "get-session-token",
            "--serial-number",
            &prov.mfa_serial,
        ])
        .args(["--token-code", MFA_CODE])
        .output()
        .unwrap();
    assert!(session.status.success(), "{session:?}");
    let s = &json(&session)["Credentials"];
    let (sk, ss, st) = (
        s["AccessKeyId"].as_str().unwrap(),
        s["SecretAccessKey"].as_str().unwrap(),
        s["SessionToken"].as_str().unwrap(),
    );
    let role = aws_with_keys(&sb, &moto.endpoint(), (sk, ss, Some(st)))
        .args([
            "sts",
            "assume-role",
            "--role-arn",
            &prov.role("dev").role_arn,
        ])
        .args(["--role-session-name", "infra-test"])
        .output()
        .unwrap();
    assert!(role.status.success(), "{role:?}");
    let r = &json(&role)["Credentials"];
    let rk = (
        r["AccessKeyId"].as_str().unwrap(),
        r["SecretAccessKey"].as_str().unwrap(),
        Some(r["SessionToken"].as_str().unwrap()),
    );
    let who = aws_with_keys(&sb, &moto.endpoint(), rk)
        .args(["sts", "get-caller-identity"])
        .output()
        .unwrap();
    assert_eq!(
        json(&who)["Arn"],
        "arn:aws:sts::444455556666:assumed-role/developer/infra-test"
    );
    let roles = aws_with_keys(&sb, &moto.endpoint(), rk)
        .args(["iam", "list-roles", "--query", "Roles[].RoleName"])
        .output()
        .unwrap();
    assert_eq!(json(&roles), serde_json::json!(["developer"]));
}

#[test]
fn sandbox_aws_files_match_provision_write_home() {
    let moto = Moto::start();
    let script_home = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/moto_provision.py"
        ))
        .args(["--endpoint", &moto.endpoint(), "--write-home"])
        .arg(script_home.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let prov: crate::support::Provision = serde_json::from_slice(&out.stdout).unwrap();
    let sb = Sandbox::new(&moto.endpoint(), &prov);
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap();
    for name in ["config", "credentials"] {
        assert_eq!(
            read(script_home.path().join(".aws").join(name)),
            read(sb.home.join(".aws").join(name)),
            "~/.aws/{name} differs between moto_provision.py and the Sandbox"
        );
    }
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&script_home.path().join(".aws")), 0o700);
    assert_eq!(mode(&script_home.path().join(".aws/credentials")), 0o600);
    assert_eq!(mode(&sb.home.join(".aws/credentials")), 0o600);
    assert!(
        !sb.cache.exists(),
        "the sandbox leaves the cache dir to rolepick"
    );
}

#[test]
fn proxy_forwards_aws_cli_requests_and_counts_actions() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint());
    let prov = moto.provision();
    let sb = Sandbox::new(&proxy.endpoint(), &prov);
    let out = aws_with_keys(&sb, &proxy.endpoint(), DUMMY)
        .args([
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            &proxy.endpoint(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json(&out)["Account"], "123456789012");
    assert_eq!(proxy.count("GetCallerIdentity"), 1);
    assert_eq!(proxy.total(), 1);
    let r = &proxy.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.status, r.injected),
        ("POST", 200, false)
    );

    // The profile path of the aws CLI goes through the proxy too (AWS_ENDPOINT_URL).
    let out = sb
        .aws()
        .args(["sts", "get-caller-identity", "--profile", "primary"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["Arn"], prov.user_arn);
    assert_eq!(proxy.count("GetCallerIdentity"), 2);
}

#[test]
fn proxy_injects_the_nth_request_of_an_action_then_forwards_again() {
    let stack = Stack::start();
    let (sb, proxy, prov) = (&stack.sb, &stack.proxy, &stack.prov);
    proxy.inject_nth("GetSessionToken", 1, Canned::invalid_mfa());
    let key = (
        prov.access_key_id.as_str(),
        prov.secret_access_key.as_str(),
        None,
    );
    let get_session = || {
        aws_with_keys(sb, &proxy.endpoint(), key)
            .args([
                "sts",
                "get-session-token",
                "--serial-number",
                &prov.mfa_serial,
            ])
            .args(["--token-code", MFA_CODE])
            .output()
            .unwrap()
    };
    let first = get_session();
    assert!(!first.status.success());
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(err.contains("invalid MFA one time pass code"), "{err}");

    let second = get_session();
    assert!(second.status.success(), "{second:?}");
    assert_eq!(proxy.count("GetSessionToken"), 2);
    let reqs = proxy.requests();
    assert!(reqs[0].injected && reqs[0].status == 403);
    assert!(!reqs[1].injected && reqs[1].status == 200);
    assert_eq!(
        reqs[1].form.get("TokenCode").map(String::as_str),
        Some(MFA_CODE)
    );
    assert_eq!(
        reqs[1].form.get("SerialNumber"),
        Some(&prov.mfa_serial),
        "form fields are decoded"
    );
}

#[test]
fn proxy_fail_always_answers_every_request_of_that_action() {
    let stack = Stack::start();
    let (sb, proxy) = (&stack.sb, &stack.proxy);
    proxy.inject_always("GetCallerIdentity", Canned::throttling());
    for _ in 0..2 {
        let out = aws_with_keys(sb, &proxy.endpoint(), DUMMY)
            .args(["sts", "get-caller-identity"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("Throttling"));
    }
    assert_eq!(
        proxy.count("GetCallerIdentity"),
        2,
        "AWS_MAX_ATTEMPTS=1: no retries"
    );

    proxy.clear_failures();
    proxy.fail_always(
        "GetCallerIdentity",
        403,
        Canned::invalid_client_token_id().body,
    );
    let out = aws_with_keys(sb, &proxy.endpoint(), DUMMY)
        .args(["sts", "get-caller-identity"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidClientTokenId"));
}

#[test]
fn proxy_keeps_the_client_connection_alive_across_requests() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint());
    proxy.inject_nth("GetSessionToken", 2, Canned::expired_token());
    let addr = proxy.endpoint().trim_start_matches("http://").to_owned();
    let conn = TcpStream::connect(&addr).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    let mut statuses = Vec::new();
    for action in ["GetCallerIdentity", "GetSessionToken", "GetSessionToken"] {
        let body = format!("Action={action}&Version=2011-06-15");
        write!(
            writer,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIADUMMYDUMMYDUMMY0/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        statuses.push((
            status.trim().to_owned(),
            String::from_utf8_lossy(&body).into_owned(),
        ));
    }
    assert!(statuses[0].0.starts_with("HTTP/1.1 200"), "{statuses:?}");
    assert!(statuses[1].0.starts_with("HTTP/1.1 200"), "{statuses:?}");
    assert!(statuses[1].1.contains("<SessionToken>"), "{statuses:?}");
    assert!(statuses[2].0.starts_with("HTTP/1.1 400"), "{statuses:?}");
    assert!(
        statuses[2].1.contains("<Code>ExpiredToken</Code>"),
        "{statuses:?}"
    );
    assert_eq!(proxy.count("GetSessionToken"), 2);
}

#[test]
fn canned_sts_errors_have_the_sts_error_shape() {
    let cases = [
        (Canned::invalid_mfa(), 403, "AccessDenied"),
        (Canned::throttling(), 400, "Throttling"),
        (
            Canned::invalid_client_token_id(),
            403,
            "InvalidClientTokenId",
        ),
        (Canned::expired_token(), 400, "ExpiredToken"),
        (Canned::duration_too_long(), 400, "ValidationError"),
        (
            Canned::role_not_assumable("arn:aws:iam::1:user/u", "arn:aws:iam::2:role/r"),
            403,
            "AccessDenied",
        ),
    ];
    for (c, status, code) in cases {
        assert_eq!(c.status, status, "{code}");
        assert!(c.body.starts_with(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
        ));
        assert!(c.body.contains(&format!("<Code>{code}</Code>")));
        assert!(c.body.ends_with("<RequestId>x</RequestId></ErrorResponse>"));
    }
}
