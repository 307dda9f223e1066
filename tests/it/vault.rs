//! The vault, through the real binary: round trips, what the file contains,
//! wrong passphrases and damaged files that change nothing, concurrent
//! writers, importing from ~/.aws/credentials, and `exec` against moto with
//! the key only in the vault.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use crate::support::{show, text, Canned, Stack, MFA_CODE};

const PASS: &str = "correct horse battery";

/// rolepick in the sandbox with the vault passphrase (and a cheap scrypt
/// work factor, so tests do not spend a second per unlock).
fn rp(stack: &Stack, pass: &str) -> assert_cmd::Command {
    let mut c = stack.sb.cmd();
    c.env("ROLEPICK_VAULT_PASSPHRASE", pass)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10");
    c
}

fn vault_file(stack: &Stack) -> PathBuf {
    stack.sb.home.join(".local/share/rolepick/vault.age")
}

fn add(stack: &Stack, source: &str, id: &str, secret: &str) -> Output {
    rp(stack, PASS)
        .args(["vault", "add", source, "--stdin", "--no-verify"])
        .write_stdin(format!(
            r#"{{"AccessKeyId":"{id}","SecretAccessKey":"{secret}"}}"#
        ))
        .output()
        .unwrap()
}

fn list_json(stack: &Stack, pass: &str) -> (Output, serde_json::Value) {
    let out = rp(stack, pass)
        .args(["vault", "list", "--json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

/// Opens the vault with `pass` (`vault list` no longer does: it reads the
/// index): `vault remove` of a source it does not hold, which must unlock
/// the file to look. `Ok` when the passphrase opened it, else the output.
fn unlocks(stack: &Stack, pass: &str) -> Result<(), Output> {
    let out = rp(stack, pass)
        .args(["vault", "remove", "no-such-source", "--yes"])
        .output()
        .unwrap();
    if out.status.code() == Some(2) && text(&out.stderr).contains("holds no key") {
        Ok(())
    } else {
        Err(out)
    }
}

fn sources(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["source"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn file_vault_round_trip_keeps_secret_and_key_id_out_of_the_file() {
    let stack = Stack::start();
    let out = add(
        &stack,
        "work",
        "AKIAROUNDTRIP0000001",
        "s3cr3t/rOundTrip+KEY",
    );
    assert!(out.status.success(), "{}", show(&out));
    let file = vault_file(&stack);
    let bytes = std::fs::read(&file).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.starts_with("age-encryption.org/v1"));
    assert!(!raw.contains("s3cr3t/rOundTrip+KEY"));
    assert!(!raw.contains("AKIAROUNDTRIP0000001"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (out, v) = list_json(&stack, PASS);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(v[0]["source"], "work");
    assert_eq!(v[0]["access_key_id"], "AKIAROUNDTRIP0000001");
    // --no-verify: no AWS call, so the day the key was created is unknown.
    assert_eq!(v[0]["age_days"], serde_json::Value::Null);
    assert!(!text(&out.stdout).contains("s3cr3t"), "never the secret");
}

#[test]
fn wrong_passphrase_changes_nothing() {
    let stack = Stack::start();
    assert!(add(&stack, "work", "AKIAWRONGPASS0000001", "secret-1")
        .status
        .success());
    let before = std::fs::read(vault_file(&stack)).unwrap();
    let out = unlocks(&stack, "not the passphrase").unwrap_err();
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("wrong passphrase"),
        "{}",
        show(&out)
    );
    let out = rp(&stack, "not the passphrase")
        .args(["vault", "add", "other", "--stdin", "--no-verify"])
        .write_stdin(r#"{"AccessKeyId":"AKIAWRONGPASS0000002","SecretAccessKey":"x"}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert_eq!(
        std::fs::read(vault_file(&stack)).unwrap(),
        before,
        "byte-identical"
    );
}

#[test]
fn damaged_vault_is_refused_and_left_untouched() {
    let stack = Stack::start();
    assert!(add(&stack, "work", "AKIADAMAGED000000001", "secret-1")
        .status
        .success());
    let file = vault_file(&stack);
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 20);
    bytes.extend_from_slice(b"garbage-garbage-garb");
    std::fs::write(&file, &bytes).unwrap();
    let out = add(&stack, "other", "AKIADAMAGED000000002", "secret-2");
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "not overwritten");
}

#[test]
fn concurrent_adds_lose_nothing() {
    let stack = Stack::start();
    assert!(add(&stack, "first", "AKIACONCURRENT000000", "s0")
        .status
        .success());
    let children: Vec<_> = (1..=4)
        .map(|i| {
            let mut c = stack.sb.std_cmd();
            c.env("ROLEPICK_VAULT_PASSPHRASE", PASS)
                .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10")
                .args(["vault", "add", &format!("src{i}"), "--stdin", "--no-verify"])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(
                    format!(
                        r#"{{"AccessKeyId":"AKIACONCURRENT00000{i}","SecretAccessKey":"s{i}"}}"#
                    )
                    .as_bytes(),
                )
                .unwrap();
            child
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
    }
    let (_, v) = list_json(&stack, PASS);
    let mut got = sources(&v);
    got.sort();
    assert_eq!(got, ["first", "src1", "src2", "src3", "src4"]);
}

#[test]
fn import_moves_the_key_and_keeps_the_rest_of_the_file() {
    let stack = Stack::start();
    let creds = stack.sb.home.join(".aws/credentials");
    let other = "\n# kept as is\n[other]\naws_access_key_id = AKIAOTHERPROFILE0001\naws_secret_access_key = other-secret\nregion = eu-west-1\n";
    let original = format!("{}{other}", stack.prov.credentials_file());
    stack.sb.write_aws_file("credentials", &original);
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let after = std::fs::read_to_string(&creds).unwrap();
    assert!(!after.contains(&stack.prov.secret_access_key));
    assert!(!after.contains(&stack.prov.access_key_id));
    assert!(
        after.ends_with(other),
        "the other profile is intact:\n{after}"
    );
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Without a terminal the plaintext backup is kept (0600) and named.
    let backup = PathBuf::from(format!("{}.rolepick-backup", creds.display()));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(text(&out.stderr).contains(&backup.display().to_string()));
    // Verified with GetCallerIdentity: the IAM user is recorded.
    let (_, v) = list_json(&stack, PASS);
    assert_eq!(v[0]["access_key_id"], stack.prov.access_key_id.as_str());
    assert_eq!(v[0]["user_arn"], stack.prov.user_arn.as_str());
    assert_eq!(stack.proxy.count("GetCallerIdentity"), 1);
}

#[test]
fn import_with_yes_removes_the_backup() {
    let stack = Stack::start();
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes", "--no-verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let backup = format!(
        "{}.rolepick-backup",
        stack.sb.home.join(".aws/credentials").display()
    );
    assert!(!std::path::Path::new(&backup).exists());
}

#[test]
fn add_verifies_the_key_and_refuses_one_aws_rejects() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("GetCallerIdentity", Canned::invalid_client_token_id());
    let out = rp(&stack, PASS)
        .args(["vault", "add", "work", "--stdin"])
        .write_stdin(r#"{"AccessKeyId":"AKIAREJECTED00000001","SecretAccessKey":"nope-secret"}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(text(&out.stderr).contains("AKIAREJECTED00000001"));
    assert!(!text(&out.stderr).contains("nope-secret"));
    assert!(!vault_file(&stack).exists(), "nothing stored");
}

#[test]
fn exec_works_with_the_key_only_in_the_vault_and_warm_exec_never_opens_it() {
    let stack = Stack::start();
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        !std::fs::read_to_string(stack.sb.home.join(".aws/credentials"))
            .unwrap()
            .contains("aws_access_key_id")
    );
    let out = rp(&stack, PASS)
        .args(["-v", "exec", "admin", "--mfa-code", MFA_CODE, "--"])
        .args(["aws", "sts", "get-caller-identity", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stdout).contains(":assumed-role/primary-role/"),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("from the vault"),
        "-v says where the key came from"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    // Damage the vault and give a wrong passphrase: cached role credentials
    // and the cached MFA session still work, because neither opens the vault.
    std::fs::write(vault_file(&stack), b"not an age file").unwrap();
    let out = rp(&stack, "wrong")
        .args(["exec", "admin", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = rp(&stack, "wrong")
        .args(["exec", "dev", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
}

#[test]
fn remove_needs_confirmation_and_then_forgets_the_key() {
    let stack = Stack::start();
    assert!(add(&stack, "work", "AKIAREMOVE0000000001", "s")
        .status
        .success());
    let out = rp(&stack, PASS)
        .args(["vault", "remove", "work"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal, no --yes: {}",
        show(&out)
    );
    assert!(text(&out.stderr).contains("--yes"));
    let out = rp(&stack, PASS)
        .args(["vault", "remove", "work", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let (_, v) = list_json(&stack, PASS);
    assert!(sources(&v).is_empty(), "{v}");
}

#[test]
fn passwd_changes_the_passphrase() {
    let stack = Stack::start();
    assert!(add(&stack, "work", "AKIAPASSWD0000000001", "s")
        .status
        .success());
    let out = rp(&stack, PASS)
        .env("ROLEPICK_VAULT_NEW_PASSPHRASE", "a new passphrase")
        .args(["vault", "passwd"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(unlocks(&stack, PASS).unwrap_err().status.code(), Some(5));
    unlocks(&stack, "a new passphrase").unwrap_or_else(|out| panic!("{}", show(&out)));
    let (out, v) = list_json(&stack, "a new passphrase");
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(sources(&v), ["work"]);
}

#[test]
fn keyring_backend_without_a_secret_service_says_so() {
    let stack = Stack::start();
    let cfg = stack.sb.root().join("rolepick.toml");
    std::fs::write(&cfg, "[vault]\nbackend = \"keyring\"\n").unwrap();
    // A session bus address where nothing listens (tests/it/keyring.rs has a
    // real Secret Service).
    let out = rp(&stack, PASS)
        .env("ROLEPICK_CONFIG", &cfg)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", stack.sb.root().join("no-bus").display()),
        )
        .args(["vault", "add", "work", "--stdin", "--no-verify"])
        .write_stdin(r#"{"AccessKeyId":"AKIAKEYRING000000001","SecretAccessKey":"s"}"#)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("keychain") && err.contains("Secret Service"),
        "{err}"
    );
    assert!(err.contains("backend = \"file\""), "says what to do: {err}");
}

#[test]
fn passphrase_command_unlocks_the_vault_and_no_passphrase_reaches_a_child() {
    let stack = Stack::start();
    assert!(add(
        &stack,
        "primary",
        &stack.prov.access_key_id,
        &stack.prov.secret_access_key
    )
    .status
    .success());
    let cfg = stack.sb.root().join("rolepick.toml");
    let pass_file = stack.sb.root().join("pass.txt");
    std::fs::write(&pass_file, PASS).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "[vault]\npassphrase_command = \"cat {}\"\n",
            pass_file.display()
        ),
    )
    .unwrap();
    // No ROLEPICK_VAULT_PASSPHRASE: the command gives it.
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_CONFIG", &cfg)
        .env("ROLEPICK_VAULT_NEW_PASSPHRASE", "should-not-leak")
        .args(["vault", "remove", "no-such-source", "--yes"])
        .output()
        .unwrap();
    // Unlocked (with the command's passphrase) and looked.
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("holds no key"), "{}", show(&out));
    // exec signs in with the key from the vault; the child sees no passphrase.
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_CONFIG", &cfg)
        .env("ROLEPICK_VAULT_PASSPHRASE", PASS)
        .env("ROLEPICK_VAULT_NEW_PASSPHRASE", "should-not-leak")
        .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "env"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let env = text(&out.stdout);
    assert!(env.contains("AWS_SESSION_TOKEN="), "{}", show(&out));
    assert!(
        !env.contains(PASS),
        "the vault passphrase reached the child"
    );
    assert!(!env.contains("should-not-leak"));
    assert!(!env.contains(&stack.prov.secret_access_key));
}

/// `ListAccessKeys` as IAM answers it: `id` of `primary`, created `days` ago.
fn list_access_keys_created(id: &str, days: u64) -> Canned {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400 + 60);
    Canned::new(
        200,
        format!(
            "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult>\
             <UserName>primary</UserName><IsTruncated>false</IsTruncated><AccessKeyMetadata><member>\
             <UserName>primary</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status>\
             <CreateDate>{}</CreateDate></member></AccessKeyMetadata></ListAccessKeysResult>\
             <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></ListAccessKeysResponse>",
            humantime::format_rfc3339_seconds(then)
        ),
    )
}

/// `vault list` with no passphrase anywhere and no terminal: it must not
/// need to unlock anything.
fn list_without_passphrase(stack: &Stack) -> (Output, Output) {
    let table = stack.sb.cmd().args(["vault", "list"]).output().unwrap();
    let json = stack
        .sb
        .cmd()
        .args(["vault", "list", "--json"])
        .output()
        .unwrap();
    (table, json)
}

#[test]
fn import_dates_an_old_key_by_iam_and_vault_list_shows_it_without_unlocking() {
    let stack = Stack::start();
    let id = stack.prov.access_key_id.clone();
    stack
        .proxy
        .inject_always("ListAccessKeys", list_access_keys_created(&id, 200));
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let asked = stack
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some("ListAccessKeys"))
        .expect("IAM asked for the key's creation date");
    assert_eq!(
        asked.form.get("UserName").map(String::as_str),
        Some("primary")
    );

    let (table, json) = list_without_passphrase(&stack);
    assert!(table.status.success(), "{}", show(&table));
    let t = text(&table.stdout);
    assert!(
        t.contains(&id) && t.contains("200d") && t.contains("ROTATE NOW"),
        "{t}"
    );
    assert!(
        text(&table.stderr).contains("200 days old"),
        "{}",
        show(&table)
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["access_key_id"], id.as_str());
    assert_eq!(v[0]["age_days"], 200);
    assert_eq!(v[0]["user_arn"], stack.prov.user_arn.as_str());

    let out = stack.sb.cmd().args(["list"]).output().unwrap();
    assert!(
        text(&out.stdout).contains("200d (ROTATE)"),
        "{}",
        show(&out)
    );
}

#[test]
fn import_without_a_creation_date_shows_the_age_as_unknown_never_zero() {
    let stack = Stack::start();
    stack.proxy.inject_always(
        "ListAccessKeys",
        Canned::sts_error(
            403,
            "AccessDenied",
            "not authorized to perform: iam:ListAccessKeys",
        ),
    );
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("creation date")
            && err.contains("AccessDenied")
            && err.contains("--created YYYY-MM-DD"),
        "{err}"
    );

    let (table, json) = list_without_passphrase(&stack);
    assert!(table.status.success(), "{}", show(&table));
    let t = text(&table.stdout);
    assert!(t.contains("age unknown") && !t.contains(" 0d"), "{t}");
    assert!(
        text(&table.stderr).contains("--created"),
        "{}",
        show(&table)
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["age_days"], serde_json::Value::Null);
    assert_eq!(v[0]["added"], serde_json::Value::Null);

    let out = stack.sb.cmd().args(["list"]).output().unwrap();
    let row = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with("admin "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", show(&out)));
    assert!(row.trim_end().ends_with('?'), "{row}");
    let out = stack.sb.cmd().args(["list", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["key_age_days"].is_null()));

    // --no-verify asks nothing of AWS: unknown too.
    let stack = Stack::start();
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes", "--no-verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stderr).contains("--no-verify"), "{}", show(&out));
    assert_eq!(stack.proxy.count("ListAccessKeys"), 0);
    let (_, json) = list_without_passphrase(&stack);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["age_days"], serde_json::Value::Null);
}

#[test]
fn import_created_dates_the_key_and_a_bad_date_changes_nothing() {
    let stack = Stack::start();
    let creds = stack.sb.home.join(".aws/credentials");
    let before = std::fs::read_to_string(&creds).unwrap();
    for bad in ["2026-13-01", "01/02/2025", "2999-01-01", "yesterday\u{1b}"] {
        let out = rp(&stack, PASS)
            .args(["vault", "import", "primary", "--yes", "--created", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("--created") && err.contains("YYYY-MM-DD"),
            "{err}"
        );
        assert!(!err.contains('\u{1b}'), "escaped: {err:?}");
        assert_eq!(std::fs::read_to_string(&creds).unwrap(), before);
        assert!(!vault_file(&stack).exists());
        assert_eq!(stack.proxy.total(), 0, "nothing asked of AWS");
    }
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(150 * 86_400);
    let day = humantime::format_rfc3339_seconds(then).to_string()[..10].to_string();
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes", "--created", &day])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("ListAccessKeys"), 0, "the date was given");
    let (_, json) = list_without_passphrase(&stack);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let age = v[0]["age_days"].as_i64().unwrap();
    assert!((149..=150).contains(&age), "{v}");
    assert_eq!(v[0]["added"], format!("{day}T00:00:00Z"));
}

/// On a terminal, a mistyped passphrase, a five-digit code and a new
/// passphrase under 8 characters are said and asked again, as the picker
/// does, instead of ending the command (and the right answer then works).
#[test]
fn cli_prompts_ask_again_after_a_typo_on_a_terminal() {
    use crate::support::tmux::{have_tmux, Tmux};
    if !have_tmux() {
        crate::support::missing_prerequisite("tmux");
        return;
    }
    let stack = Stack::start();
    let out = rp(&stack, PASS)
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let mut env = stack.sb.aws_env();
    env.push(("ROLEPICK_VAULT_SCRYPT_LOG_N".into(), "10".into()));
    let tmux = Tmux::start(stack.sb.root(), &env);
    let bin = env!("CARGO_BIN_EXE_rolepick");

    tmux.line(&format!("{bin} exec admin -- true ; echo exec-exit-$?"));
    tmux.wait_for("the passphrase prompt", |s| {
        s.contains("Passphrase for the rolepick vault")
    });
    tmux.line("not the passphrase");
    tmux.wait_for("asked again", |s| {
        s.contains("wrong passphrase; try again (1 of 3)")
            && s.matches("Passphrase for the rolepick vault").count() == 2
    });
    tmux.line(PASS);
    tmux.wait_for("the code prompt", |s| s.contains("MFA code for"));
    tmux.line("12345");
    tmux.wait_for("asked again", |s| {
        s.contains("is not 6 digits") && s.matches("MFA code for").count() == 2
    });
    tmux.line(MFA_CODE);
    let screen = tmux.wait_for("exec done", |s| s.contains("\nexec-exit-"));
    assert!(screen.contains("\nexec-exit-0"), "{screen}");
    assert_eq!(stack.proxy.count("GetSessionToken"), 1, "one AWS call");

    // A new vault's passphrase under 8 characters: asked again.
    let other = stack.sb.root().join("other-vault/vault.age");
    tmux.line("clear");
    tmux.line(&format!(
        "ROLEPICK_VAULT_FILE={} {bin} vault add work --no-verify --created 2026-01-01 ; echo add-exit-$?",
        other.display()
    ));
    tmux.wait_for("key id prompt", |s| s.contains("Access key id"));
    tmux.line("AKIARETRYPROMPT00001");
    tmux.wait_for("secret prompt", |s| s.contains("Secret access key"));
    tmux.line("retry-secret");
    tmux.wait_for("new passphrase prompt", |s| s.contains("New passphrase"));
    tmux.line("short");
    tmux.wait_for("asked again", |s| {
        s.contains("at least 8 characters. Try again (1 of 3)")
            && s.matches("New passphrase").count() == 2
    });
    tmux.line("long enough now");
    tmux.wait_for("repeat prompt", |s| s.contains("Repeat the passphrase"));
    tmux.line("long enough now");
    let screen = tmux.wait_for("add done", |s| s.contains("\nadd-exit-"));
    assert!(screen.contains("\nadd-exit-0"), "{screen}");
    assert!(other.exists());

    // Without a terminal a mistyped code fails at once, as before.
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--mfa-code", "12345", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}
