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

/// `aws iam ARGS` as the bootstrap admin, against moto; its text output.
fn iam(stack: &Stack, args: &[&str]) -> String {
    let out = stack
        .sb
        .aws()
        .env("AWS_ACCESS_KEY_ID", BOOT.0)
        .env("AWS_SECRET_ACCESS_KEY", BOOT.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args(["--endpoint-url", &stack.moto.endpoint(), "iam"])
        .args(args)
        .args(["--output", "text"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    text(&out.stdout).trim().to_string()
}

/// A customer managed policy (moto does not load AWS's managed ones).
fn managed_policy(stack: &Stack, name: &str) -> String {
    iam(
        stack,
        &[
            "create-policy",
            "--policy-name",
            name,
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            "--query",
            "Policy.Arn",
        ],
    )
}

fn admin_policy(stack: &Stack) -> String {
    managed_policy(stack, "Admin")
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
    let err = text(&out.stderr);
    // No device was left by an earlier run: none is said to be deleted.
    assert!(!err.contains("after deleting"), "{err}");
    assert_eq!(stack.proxy.count("DeleteVirtualMFADevice"), 0);
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
    // moto, like IAM, returns the trust policy URL-encoded; the roles setup
    // made trust jane, and the rerun says nothing else.
    let err = text(&out.stderr);
    assert!(
        err.contains("role arn:aws:iam::123456789012:role/ops exists"),
        "{err}"
    );
    assert!(!err.contains("does not name"), "{err}");
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

#[test]
fn each_role_gets_its_own_policy_and_the_mfa_secret_is_shown_as_text() {
    let stack = Stack::start();
    let admin = admin_policy(&stack);
    let read = managed_policy(&stack, "Read");
    let out = rp(&stack)
        .env("AWS_ACCESS_KEY_ID", BOOT.0)
        .env("AWS_SECRET_ACCESS_KEY", BOOT.1)
        .args(["setup", "--user", "jane", "--mfa-codes-from-seed"])
        .args(["--role", &format!("ops:{admin}")])
        .args(["--role", &format!("readonly:{read}")])
        .args(["--role", "audit"])
        .args(["--policy", &read])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    for (role, want) in [("ops", &admin), ("readonly", &read), ("audit", &read)] {
        let attached = iam(
            &stack,
            &[
                "list-attached-role-policies",
                "--role-name",
                role,
                "--query",
                "AttachedPolicies[].PolicyArn",
            ],
        );
        assert_eq!(&attached, want, "{role}");
    }

    // The device's secret, as text beside the QR code: the seed moto made.
    let seed = iam(
        &stack,
        &[
            "list-virtual-mfa-devices",
            "--query",
            "VirtualMFADevices[?SerialNumber=='arn:aws:iam::123456789012:mfa/jane'].Base32StringSeed",
        ],
    );
    // (The CLI prints the seed, a blob, in base64.)
    let seed = text(&data_encoding::BASE64.decode(seed.as_bytes()).unwrap());
    let err = text(&out.stderr);
    assert!(seed.len() >= 16, "{seed}");
    assert!(
        err.contains(&format!(
            "Or enter this secret key (Base32, TOTP, 6 digits, 30 s): {seed}"
        )),
        "{seed} in {err}"
    );
}

#[test]
fn a_device_left_unassigned_by_an_earlier_run_is_replaced_and_said_so() {
    let stack = Stack::start();
    let policy = admin_policy(&stack);
    iam(
        &stack,
        &[
            "create-virtual-mfa-device",
            "--virtual-mfa-device-name",
            "jane",
            "--outfile",
            "/dev/null",
            "--bootstrap-method",
            "Base32StringSeed",
        ],
    );
    let out = setup(&stack, &policy, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("after deleting the unassigned device"),
        "{err}"
    );
    assert_eq!(stack.proxy.count("DeleteVirtualMFADevice"), 1);
}
