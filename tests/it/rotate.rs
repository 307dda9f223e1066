//! `rolepick rotate` through the real binary against moto, with the proxy
//! failing chosen calls (and rolepick killed mid-way): after every failure
//! the vault holds a key IAM knows, `exec` works, and a rerun (`--resume`)
//! finishes with exactly one key, the one in the vault.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{show, text, Canned, Stack, MFA_CODE};

const PASS: &str = "correct horse battery";

fn rp(stack: &Stack) -> assert_cmd::Command {
    let mut c = stack.sb.cmd();
    c.env("ROLEPICK_VAULT_PASSPHRASE", PASS)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10")
        .env("ROLEPICK_ROTATE_VERIFY_TIMEOUT", "3");
    c
}

fn run(stack: &Stack, args: &[&str]) -> Output {
    rp(stack).args(args).output().unwrap()
}

/// moto with the provisioned user's key in the vault (not in ~/.aws/credentials).
fn stack_with_vault() -> Stack {
    let stack = Stack::start();
    let out = run(&stack, &["vault", "import", "primary", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    stack
}

fn iam_ids(stack: &Stack) -> Vec<String> {
    stack.iam_key_ids()
}

/// `vault list --json`'s entry for `primary`.
fn vault_entry(stack: &Stack) -> serde_json::Value {
    let out = run(stack, &["vault", "list", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "primary")
        .cloned()
        .unwrap_or_else(|| panic!("no primary in {v}"))
}

/// The key rolepick signs in with: the previous one while the new one is
/// not yet verified.
fn usable_key(entry: &serde_json::Value) -> String {
    if entry["rotation"] == "created" {
        entry["previous_access_key_id"]
            .as_str()
            .unwrap()
            .to_string()
    } else {
        entry["access_key_id"].as_str().unwrap().to_string()
    }
}

/// The vault's usable key is one IAM knows, and `exec` works with it.
fn assert_working(stack: &Stack) {
    let entry = vault_entry(stack);
    let key = usable_key(&entry);
    assert!(
        iam_ids(stack).contains(&key),
        "the vault's usable key {key} is not in IAM {:?} ({entry})",
        iam_ids(stack)
    );
    let _ = std::fs::remove_dir_all(&stack.sb.cache);
    let out = run(
        stack,
        &[
            "exec",
            "admin",
            "--mfa-code",
            MFA_CODE,
            "--",
            "aws",
            "sts",
            "get-caller-identity",
        ],
    );
    assert!(out.status.success(), "exec: {}", show(&out));
}

/// A rerun (`rotate` with `args`) succeeds and finishes the rotation.
#[track_caller]
fn rerun_finishes(stack: &Stack, args: &[&str], old: &str) {
    let out = run(stack, args);
    assert!(out.status.success(), "{}", show(&out));
    assert_rotated(stack, old);
}

/// After a finished rotation: one key in IAM, the vault's, not `old`.
fn assert_rotated(stack: &Stack, old: &str) -> String {
    let entry = vault_entry(stack);
    let new = entry["access_key_id"].as_str().unwrap().to_string();
    assert_ne!(new, old, "a new key");
    assert_eq!(iam_ids(stack), vec![new.clone()], "exactly the vault's key");
    assert!(entry["rotation"].is_null(), "{entry}");
    assert!(entry["previous_access_key_id"].is_null(), "{entry}");
    assert_eq!(
        entry["user_arn"].as_str(),
        Some(stack.prov.user_arn.as_str())
    );
    assert_working(stack);
    new
}

fn iam_error(status: u16, code: &str, message: &str) -> Canned {
    Canned::new(
        status,
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>x</RequestId></ErrorResponse>"
        ),
    )
}

/// Fail the next `n` calls of `action` (counted from now).
fn fail_next(stack: &Stack, action: &str, n: usize, canned: &Canned) {
    let base = stack.proxy.count(action);
    for i in 1..=n {
        stack.proxy.inject_nth(action, base + i, canned.clone());
    }
}

/// The next GetCallerIdentity (identifying the user with the old key) goes
/// through; the ones after it (the new key's verification) fail like a key
/// IAM has not propagated yet.
fn fail_new_key_verification(stack: &Stack) {
    let base = stack.proxy.count("GetCallerIdentity");
    for n in base + 2..base + 20 {
        stack
            .proxy
            .inject_nth("GetCallerIdentity", n, Canned::invalid_client_token_id());
    }
}

#[test]
fn rotate_leaves_exactly_one_new_key_in_iam_and_the_vault() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    assert_eq!(iam_ids(&stack), vec![old.clone()]);
    // A cached MFA session made with the old key.
    assert_working(&stack);
    let sessions = stack.proxy.count("GetSessionToken");
    let out = run(&stack, &["rotate", "primary"]);
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&old) && err.contains("rotated"), "{err}");
    assert_eq!(stack.proxy.count("CreateAccessKey"), 1);
    assert_eq!(stack.proxy.count("DeleteAccessKey"), 1);
    // The session of the old key was forgotten: exec signs in again.
    let new = assert_rotated(&stack, &old);
    assert_eq!(stack.proxy.count("GetSessionToken"), sessions + 1);
    assert!(err.contains(&new), "{err}");
    // DeleteAccessKey was signed with the new key.
    let del = stack
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some("DeleteAccessKey"))
        .unwrap();
    assert_eq!(del.form.get("AccessKeyId"), Some(&old));
}

#[test]
fn dry_run_calls_nothing_and_changes_nothing() {
    let stack = stack_with_vault();
    let before = stack.proxy.total();
    let out = run(&stack, &["rotate", "primary", "--dry-run"]);
    assert!(out.status.success(), "{}", show(&out));
    let plan = text(&out.stdout);
    for call in ["CreateAccessKey", "DeleteAccessKey", "GetCallerIdentity"] {
        assert!(plan.contains(call), "{plan}");
    }
    assert_eq!(stack.proxy.total(), before, "no AWS call");
    assert_eq!(iam_ids(&stack), vec![stack.prov.access_key_id.clone()]);
}

#[test]
fn list_access_keys_failure_changes_nothing() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    fail_next(
        &stack,
        "ListAccessKeys",
        1,
        &iam_error(400, "InvalidInput", "injected"),
    );
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("Nothing was changed"),
        "{}",
        show(&out)
    );
    assert_eq!(iam_ids(&stack), vec![old.clone()]);
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary"], &old);
}

#[test]
fn create_access_key_failure_changes_nothing_and_a_rerun_finishes() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    fail_next(
        &stack,
        "CreateAccessKey",
        1,
        &iam_error(
            409,
            "LimitExceeded",
            "Cannot exceed quota for AccessKeysPerUser: 2",
        ),
    );
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("LimitExceeded") && err.contains("Nothing was changed"),
        "{err}"
    );
    assert_eq!(iam_ids(&stack), vec![old.clone()]);
    assert!(vault_entry(&stack)["rotation"].is_null());
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary"], &old);
}

#[test]
fn unverified_new_key_is_kept_next_to_the_old_one_and_resume_finishes() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    fail_new_key_verification(&stack);
    let started = Instant::now();
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    assert!(started.elapsed() < Duration::from_secs(30), "bounded");
    let err = text(&out.stderr);
    assert!(err.contains("waiting for AWS to accept"), "progress: {err}");
    assert!(err.contains("rolepick rotate primary --resume"), "{err}");
    assert!(err.contains("holds both"), "{err}");
    let entry = vault_entry(&stack);
    assert_eq!(entry["rotation"], "created", "{entry}");
    assert_eq!(entry["previous_access_key_id"], old.as_str());
    let new = entry["access_key_id"].as_str().unwrap().to_string();
    let mut both = vec![old.clone(), new];
    both.sort();
    assert_eq!(iam_ids(&stack), both);
    stack.proxy.clear_failures();
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary", "--resume"], &old);
}

#[test]
fn delete_failure_leaves_the_new_key_current_and_resume_finishes() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    stack.proxy.inject_always(
        "DeleteAccessKey",
        iam_error(500, "ServiceFailure", "injected"),
    );
    let out = run(&stack, &["rotate", "primary"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("works and is the current key"), "{err}");
    assert!(err.contains("rolepick rotate primary --resume"), "{err}");
    let entry = vault_entry(&stack);
    assert_eq!(entry["rotation"], "verified", "{entry}");
    assert_eq!(iam_ids(&stack).len(), 2);
    stack.proxy.clear_failures();
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary", "--resume"], &old);
}

#[test]
fn killed_while_verifying_then_resume_finishes() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    fail_new_key_verification(&stack);
    let mut cmd = stack.sb.std_cmd();
    cmd.env("ROLEPICK_VAULT_PASSPHRASE", PASS)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10")
        .args(["rotate", "primary"])
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("waiting for AWS to accept") {
            break;
        }
    }
    assert!(seen.contains("waiting for AWS"), "{seen}");
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();
    assert_eq!(iam_ids(&stack).len(), 2);
    assert_eq!(vault_entry(&stack)["rotation"], "created");
    stack.proxy.clear_failures();
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary", "--resume"], &old);
}

#[test]
fn a_second_active_key_is_refused_with_an_explanation() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    let out = stack
        .sb
        .aws()
        .env("AWS_ACCESS_KEY_ID", "AKIAMOTOBOOTSTRAP000")
        .env("AWS_SECRET_ACCESS_KEY", "moto-bootstrap-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args(["--endpoint-url", &stack.moto.endpoint()])
        .args(["iam", "create-access-key", "--user-name", "primary"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let other = v["AccessKey"]["AccessKeyId"].as_str().unwrap().to_string();
    let out = run(&stack, &["rotate", "primary", "--delete-other"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("already has two access keys"), "{err}");
    assert!(err.contains(&other) && err.contains("Active"), "{err}");
    assert!(err.contains("--status Inactive"), "says what to do: {err}");
    assert_eq!(stack.proxy.count("CreateAccessKey"), 0);
    assert_eq!(iam_ids(&stack).len(), 2);
    // Deactivated, it is deleted with --delete-other (and only then).
    let out = stack
        .sb
        .aws()
        .env("AWS_ACCESS_KEY_ID", "AKIAMOTOBOOTSTRAP000")
        .env("AWS_SECRET_ACCESS_KEY", "moto-bootstrap-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args(["--endpoint-url", &stack.moto.endpoint()])
        .args(["iam", "update-access-key", "--user-name", "primary"])
        .args(["--access-key-id", &other, "--status", "Inactive"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = run(&stack, &["rotate", "primary", "--delete-other"]);
    assert!(out.status.success(), "{}", show(&out));
    let new = assert_rotated(&stack, &old);
    assert_ne!(new, other);
}

#[test]
fn iam_refusing_without_mfa_asks_for_a_code_and_uses_a_session() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    let denied = iam_error(
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/primary is not authorized to perform: iam:ListAccessKeys with an explicit deny",
    );
    // Without a code (and no terminal) it stops before changing anything.
    fail_next(&stack, "ListAccessKeys", 1, &denied);
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("--mfa-code") && err.contains("Nothing was changed"),
        "{err}"
    );
    assert_eq!(iam_ids(&stack), vec![old.clone()]);
    // With a code: one GetSessionToken, and every IAM call after it signed
    // with the session.
    fail_next(&stack, "ListAccessKeys", 1, &denied);
    let sessions = stack.proxy.count("GetSessionToken");
    let out = run(&stack, &["rotate", "primary", "--mfa-code", MFA_CODE]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("GetSessionToken"), sessions + 1);
    let gst = stack
        .proxy
        .requests()
        .into_iter()
        .rfind(|r| r.action.as_deref() == Some("GetSessionToken"))
        .unwrap();
    assert_eq!(
        gst.form.get("TokenCode").map(String::as_str),
        Some(MFA_CODE)
    );
    assert_rotated(&stack, &old);
}

#[test]
fn a_key_only_in_the_credentials_file_is_imported_first() {
    let stack = Stack::start();
    let out = run(&stack, &["rotate", "primary"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("rolepick vault import primary"), "{err}");
    assert_eq!(stack.proxy.total(), 0, "no AWS call");
}

#[test]
fn resume_without_a_rotation_in_progress_is_a_no_op() {
    let stack = stack_with_vault();
    let before = stack.proxy.total();
    let out = run(&stack, &["rotate", "primary", "--resume"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("nothing to resume"),
        "{}",
        show(&out)
    );
    assert_eq!(stack.proxy.total(), before);
    assert_eq!(iam_ids(&stack), vec![stack.prov.access_key_id.clone()]);
}

#[test]
fn a_lost_create_reply_leaves_no_stray_key() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    let n = stack.proxy.count("CreateAccessKey") + 1;
    stack.proxy.inject_nth_after_forward(
        "CreateAccessKey",
        n,
        iam_error(500, "ServiceFailure", "injected after moto created the key"),
    );
    let out = run(&stack, &["rotate", "primary"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("rolepick deleted it") && err.contains("Nothing was changed"),
        "{err}"
    );
    assert_eq!(stack.proxy.count("CreateAccessKey"), 1, "never retried");
    assert_eq!(iam_ids(&stack), vec![old.clone()]);
    assert!(vault_entry(&stack)["rotation"].is_null());
    assert_working(&stack);
    rerun_finishes(&stack, &["rotate", "primary"], &old);
}

#[test]
fn a_lost_create_reply_that_cannot_be_checked_is_cleaned_up_by_resume() {
    let stack = stack_with_vault();
    let old = stack.prov.access_key_id.clone();
    let n = stack.proxy.count("CreateAccessKey") + 1;
    stack.proxy.inject_nth_after_forward(
        "CreateAccessKey",
        n,
        iam_error(500, "ServiceFailure", "injected after moto created the key"),
    );
    // The first ListAccessKeys (before creating) works, the check after fails.
    let lists = stack.proxy.count("ListAccessKeys");
    for i in 2..6 {
        stack.proxy.inject_nth(
            "ListAccessKeys",
            lists + i,
            iam_error(500, "ServiceFailure", "injected"),
        );
    }
    let out = run(&stack, &["rotate", "primary"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("may have created a new key"), "{err}");
    assert!(err.contains("rolepick rotate primary --resume"), "{err}");
    assert_eq!(vault_entry(&stack)["rotation"], "creating");
    assert_eq!(iam_ids(&stack).len(), 2, "old key and the stray one");
    stack.proxy.clear_failures();
    assert_working(&stack);
    let out = run(&stack, &["rotate", "primary", "--resume"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stderr).contains("secret never reached rolepick"));
    assert_rotated(&stack, &old);
}

fn exec_true(stack: &Stack) -> Output {
    run(
        stack,
        &["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"],
    )
}

#[test]
fn an_old_key_shows_in_list_and_exec_reminds_once_a_day() {
    let stack = stack_with_vault();
    stack.sb.date_vault_key("primary", 95);

    let out = stack.sb.cmd().args(["list"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("KEY AGE"), "{}", show(&out));
    assert!(text(&out.stdout).contains("95d (ROTATE)"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("rolepick rotate primary"),
        "{}",
        show(&out)
    );
    let out = stack.sb.cmd().args(["list", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "admin")
        .unwrap();
    assert_eq!(admin["key_age_days"], 95);

    let out = exec_true(&stack);
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("95 days old") && err.contains("rolepick rotate primary"),
        "{err}"
    );
    assert_eq!(err.matches("days old").count(), 1, "one line: {err}");
    // Again the same day: no reminder (and no vault unlock: the cached
    // credentials are used).
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(!text(&out.stderr).contains("days old"), "{}", show(&out));
    // A day later: reminded again.
    stack.sb.age_key_check_by_a_day("primary");
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--", "true"])
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("95 days old"), "{}", show(&out));
    // Rotated: the key is new, no reminder.
    let out = run(&stack, &["rotate", "primary"]);
    assert!(out.status.success(), "{}", show(&out));
    stack.sb.age_key_check_by_a_day("primary");
    let out = exec_true(&stack);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!text(&out.stderr).contains("days old"), "{}", show(&out));
    let out = stack.sb.cmd().args(["list"]).output().unwrap();
    assert!(text(&out.stdout).contains(" 0d"), "{}", show(&out));
}
