//! `rolepick setup` through the real binary against moto: a new user with
//! MFA, roles, policies, a key in the vault and profiles; `exec` into each
//! role; a rerun creates nothing twice; bad bootstrap credentials are
//! refused before anything is created.

use std::process::Output;

use crate::support::{show, text, Canned, Stack, MFA_CODE};

const PASS: &str = "correct horse battery";
const BOOT: (&str, &str) = ("AKIAMOTOBOOTSTRAP000", "moto-bootstrap-secret");

fn rp(stack: &Stack) -> assert_cmd::Command {
    let mut c = stack.sb.cmd();
    c.env("ROLEPICK_VAULT_PASSPHRASE", PASS)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10");
    c
}

/// A customer managed policy (moto does not load AWS's managed ones).
fn admin_policy(stack: &Stack) -> String {
    let out = stack
        .sb
        .aws()
        .env("AWS_ACCESS_KEY_ID", BOOT.0)
        .env("AWS_SECRET_ACCESS_KEY", BOOT.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args(["--endpoint-url", &stack.moto.endpoint()])
        .args(["iam", "create-policy", "--policy-name", "Admin"])
        .args([
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        ])
        .args(["--query", "Policy.Arn", "--output", "text"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    text(&out.stdout).trim().to_string()
}

fn setup(stack: &Stack, policy: &str, extra: &[&str]) -> Output {
    rp(stack)
        .env("AWS_ACCESS_KEY_ID", BOOT.0)
        .env("AWS_SECRET_ACCESS_KEY", BOOT.1)
        .args([
            "setup", "--user", "jane", "--role", "ops", "--role", "ops-read",
        ])
        .args(["--policy", policy, "--region", "eu-west-1"])
        .args(["--mfa-codes-from-seed"])
        .args(extra)
        .output()
        .unwrap()
}

const CREATES: [&str; 7] = [
    "CreateUser",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "CreateRole",
    "AttachRolePolicy",
    "CreateAccessKey",
    "PutUserPolicy",
];

#[test]
fn setup_then_exec_into_each_role_and_a_rerun_creates_nothing_twice() {
    let stack = Stack::start();
    let policy = admin_policy(&stack);
    let config_before = std::fs::read_to_string(stack.sb.home.join(".aws/config")).unwrap();

    // Dry run: read calls only, the plan on stdout with the policies.
    let out = setup(&stack, &policy, &["--dry-run"]);
    assert!(out.status.success(), "{}", show(&out));
    let plan = text(&out.stdout);
    for call in CREATES {
        if call != "EnableMFADevice" {
            assert!(plan.contains(call), "{call} in {plan}");
        }
    }
    assert!(plan.contains("aws:MultiFactorAuthPresent"), "{plan}");
    assert!(plan.contains("[profile ops-read]"), "{plan}");
    for call in CREATES {
        assert_eq!(stack.proxy.count(call), 0, "dry run called {call}");
    }

    let png = stack.sb.root().join("mfa.png");
    let out = setup(&stack, &policy, &["--qr-png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&png).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(meta.len() > 0);
    }
    let counts: Vec<usize> = CREATES.iter().map(|c| stack.proxy.count(c)).collect();
    assert_eq!(counts, [1, 1, 1, 2, 2, 1, 1], "{CREATES:?}");

    // The profiles were added; what was there is kept, byte for byte.
    let config = std::fs::read_to_string(stack.sb.home.join(".aws/config")).unwrap();
    assert!(config.starts_with(&config_before), "{config}");
    assert!(config.contains("[profile jane]"), "{config}");
    assert!(
        config.contains("mfa_serial = arn:aws:iam::123456789012:mfa/jane"),
        "{config}"
    );

    // The key is in the vault, for jane.
    let out = rp(&stack)
        .args(["vault", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let jane = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "jane")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(jane["user_arn"], "arn:aws:iam::123456789012:user/jane");

    for role in ["ops", "ops-read"] {
        let out = rp(&stack)
            .args(["exec", role, "--mfa-code", MFA_CODE, "--"])
            .args(["aws", "sts", "get-caller-identity", "--output", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        assert!(
            text(&out.stdout).contains(&format!("assumed-role/{role}/")),
            "{}",
            show(&out)
        );
    }
    let assumes = stack.proxy.requests();
    let gst = assumes
        .iter()
        .find(|r| r.action.as_deref() == Some("GetSessionToken"))
        .unwrap();
    assert_eq!(
        gst.form.get("SerialNumber").map(String::as_str),
        Some("arn:aws:iam::123456789012:mfa/jane")
    );

    // Rerun: finds everything, creates nothing.
    let out = setup(&stack, &policy, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let again: Vec<usize> = CREATES.iter().map(|c| stack.proxy.count(c)).collect();
    // PutUserPolicy replaces the inline policy with the same document.
    assert_eq!(again, [1, 1, 1, 2, 2, 1, 2], "{CREATES:?}");
    let config_again = std::fs::read_to_string(stack.sb.home.join(".aws/config")).unwrap();
    assert_eq!(config_again, config, "no profile written twice");
    assert_eq!(config.matches("[profile ops]").count(), 1);
}

#[test]
fn bad_bootstrap_credentials_are_refused_before_anything_is_created() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("GetCallerIdentity", Canned::invalid_client_token_id());
    let out = setup(&stack, "arn:aws:iam::aws:policy/AdministratorAccess", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("rejected the bootstrap credentials") && err.contains(BOOT.0),
        "{err}"
    );
    assert!(err.contains("nothing was created"), "{err}");
    assert!(!err.contains(BOOT.1), "never the secret");
    for call in CREATES {
        assert_eq!(stack.proxy.count(call), 0, "{call}");
    }

    // No credentials at all: says how to give them.
    let out = rp(&stack)
        .args(["setup", "--user", "jane"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("--bootstrap-profile"),
        "{}",
        show(&out)
    );
}
