//! End-to-end: the real `rolepick` binary against moto, through the recording
//! proxy, in a sandbox HOME holding the walkthrough's ~/.aws files (one IAM user
//! `primary` with an MFA device; profiles `admin`, `dev`, `readonly` in three
//! accounts). Assertions are on what a user sees: ARNs, variables, exit codes,
//! file modes, and how many STS calls were made.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};

use crate::support::{parse_env_lines, parse_rfc3339, show, text, Canned, Stack, MFA_CODE};

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(out.status.success(), "expected success\n{}", show(out));
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", show(out)))
}

/// `rolepick <args>` in the stack's sandbox.
fn rolepick(stack: &Stack, args: &[&str]) -> Output {
    stack.sb.cmd().args(args).output().expect("run rolepick")
}

/// `rolepick exec <profile> [--mfa-code 123456] -- <cmd>`
fn exec(stack: &Stack, profile: &str, code: bool, cmd: &[&str]) -> Output {
    let mut args = vec!["exec", profile];
    if code {
        args.extend(["--mfa-code", MFA_CODE]);
    }
    args.push("--");
    args.extend(cmd);
    rolepick(stack, &args)
}

const CALLER_IDENTITY: &[&str] = &["aws", "sts", "get-caller-identity", "--output", "json"];

/// The long-lived secret must never show up where the test looks.
#[track_caller]
fn assert_no_long_lived_secret(stack: &Stack, where_: &str, haystack: &str) {
    assert!(
        !haystack.contains(&stack.prov.secret_access_key),
        "the long-lived secret key appears in {where_}:\n{}",
        redact(stack, haystack)
    );
}

/// Neither the long-lived secret nor its access key id may show up (files and
/// child environments; an error message may name the key id to say which key).
#[track_caller]
fn assert_no_long_lived_key(stack: &Stack, where_: &str, haystack: &str) {
    assert_no_long_lived_secret(stack, where_, haystack);
    assert!(
        !haystack.contains(&stack.prov.access_key_id),
        "the long-lived access key id appears in {where_}:\n{}",
        redact(stack, haystack)
    );
}

fn redact(stack: &Stack, s: &str) -> String {
    s.replace(&stack.prov.secret_access_key, "<LONG-LIVED-SECRET>")
        .replace(&stack.prov.access_key_id, "<LONG-LIVED-KEY-ID>")
}

#[test]
fn exec_admin_with_mfa_code_runs_the_child_as_primary_role() {
    let stack = Stack::start();
    let out = exec(&stack, "admin", true, CALLER_IDENTITY);
    assert_ok(&out);
    let arn = json(&out)["Arn"].as_str().unwrap_or_default().to_owned();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/primary-role/"),
        "child ran as {arn:?}\n{}",
        show(&out)
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    let assumed: Vec<_> = stack
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some("AssumeRole"))
        .collect();
    assert_eq!(assumed.len(), 1, "one AssumeRole");
    assert_eq!(
        assumed[0].form.get("RoleArn").map(String::as_str),
        Some("arn:aws:iam::123456789012:role/primary-role")
    );
    let gst = stack
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some("GetSessionToken"))
        .expect("a GetSessionToken request");
    assert_eq!(
        gst.form.get("TokenCode").map(String::as_str),
        Some(MFA_CODE)
    );
    assert_eq!(gst.form.get("SerialNumber"), Some(&stack.prov.mfa_serial));
}

#[test]
fn exec_dev_right_after_admin_reuses_the_mfa_session_without_a_code() {
    let stack = Stack::start();
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    // stdin closed, no controlling terminal, no --mfa-code: must not need one.
    let out = exec(&stack, "dev", false, CALLER_IDENTITY);
    assert_ok(&out);
    let arn = json(&out)["Arn"].as_str().unwrap_or_default().to_owned();
    assert!(
        arn.starts_with("arn:aws:sts::444455556666:assumed-role/developer/"),
        "child ran as {arn:?}"
    );
    assert_eq!(
        stack.proxy.count("GetSessionToken"),
        1,
        "one MFA session for both profiles"
    );
    let dev = stack
        .proxy
        .requests()
        .into_iter()
        .find(|r| {
            r.action.as_deref() == Some("AssumeRole")
                && r.form.get("RoleArn").map(String::as_str)
                    == Some("arn:aws:iam::444455556666:role/developer")
        })
        .expect("an AssumeRole for developer");
    assert_eq!(
        dev.form.get("DurationSeconds").map(String::as_str),
        Some("7200"),
        "duration_seconds from ~/.aws/config"
    );
    // Same profile again: served from the cache, no STS call at all.
    let before = stack.proxy.count("AssumeRole");
    assert_ok(&exec(&stack, "dev", false, &["true"]));
    assert_eq!(stack.proxy.count("AssumeRole"), before);
}

#[test]
fn exec_without_a_code_or_session_fails_instead_of_hanging() {
    let stack = Stack::start();
    let out = exec(&stack, "admin", false, &["true"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("GetSessionToken"), 0);
}

#[test]
fn exec_child_gets_role_credentials_and_nothing_inherited() {
    let stack = Stack::start();
    let out = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "env"])
        .env("AWS_PROFILE", "readonly")
        .env("AWS_DEFAULT_PROFILE", "readonly")
        .env("AWS_SECURITY_TOKEN", "inherited-security-token")
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let env = parse_env_lines(&stdout);
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert!(
            env.get(key).is_some_and(|v| !v.is_empty()),
            "{key} missing in child env:\n{stdout}"
        );
    }
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("eu-west-1"));
    assert_eq!(
        env.get("AWS_DEFAULT_REGION").map(String::as_str),
        Some("eu-west-1")
    );
    assert_eq!(
        env.get("ROLEPICK_PROFILE").map(String::as_str),
        Some("admin")
    );
    let exp = env
        .get("AWS_CREDENTIAL_EXPIRATION")
        .unwrap_or_else(|| panic!("AWS_CREDENTIAL_EXPIRATION missing:\n{stdout}"));
    let exp = parse_rfc3339(exp)
        .unwrap_or_else(|| panic!("AWS_CREDENTIAL_EXPIRATION={exp:?} is not RFC 3339"));
    assert!(exp > SystemTime::now(), "credentials already expired");

    assert!(!env.contains_key("AWS_PROFILE"), "AWS_PROFILE leaked");
    assert!(
        !env.contains_key("AWS_DEFAULT_PROFILE"),
        "AWS_DEFAULT_PROFILE leaked"
    );
    assert!(
        !stdout.contains("inherited-security-token"),
        "inherited AWS_SECURITY_TOKEN leaked into the child"
    );
    assert_no_long_lived_key(&stack, "the child's environment", &stdout);
    // The sandbox endpoint passes through, so the child's own AWS calls work.
    assert_eq!(
        env.get("AWS_ENDPOINT_URL"),
        Some(&stack.sb.endpoint),
        "AWS_ENDPOINT_URL should pass through to the child"
    );
}

/// `--region` wins over the profile's region (and the caller's), for the
/// command's environment, the endpoint's shell and `env`; a name that is not
/// a region is refused before anything runs.
#[test]
fn region_flag_sets_the_childs_region() {
    let stack = Stack::start();
    let run = |args: &[&str]| {
        stack
            .sb
            .cmd()
            .args(args)
            .env("AWS_REGION", "ap-south-1")
            .output()
            .unwrap()
    };
    for extra in [&[][..], &["--server"][..]] {
        let mut args = vec![
            "exec",
            "admin",
            "--region",
            "eu-west-3",
            "--mfa-code",
            MFA_CODE,
        ];
        args.extend(extra);
        args.extend(["--", "env"]);
        let out = run(&args);
        assert_ok(&out);
        let env = parse_env_lines(&text(&out.stdout));
        assert_eq!(
            env.get("AWS_REGION").map(String::as_str),
            Some("eu-west-3"),
            "{extra:?}"
        );
        assert_eq!(
            env.get("AWS_DEFAULT_REGION").map(String::as_str),
            Some("eu-west-3"),
            "{extra:?}"
        );
    }
    let out = run(&[
        "env",
        "admin",
        "--region",
        "us-gov-west-1",
        "--format",
        "dotenv",
    ]);
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("AWS_REGION=\"us-gov-west-1\""),
        "{}",
        show(&out)
    );
    let before = stack.proxy.total();
    let out = run(&["exec", "admin", "--region", "Frankfurt", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("\"Frankfurt\" is not a region name"), "{err}");
    assert_eq!(stack.proxy.total(), before, "no AWS call");
}

#[test]
fn exec_exits_with_the_childs_status() {
    let stack = Stack::start();
    let out = exec(&stack, "admin", true, &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));
}

#[test]
fn exec_command_killed_by_sigterm_dies_of_sigterm_as_the_caller_sees_it() {
    use std::os::unix::process::ExitStatusExt;
    let stack = Stack::start();
    // rolepick became the command: the caller sees the signal itself ...
    let out = exec(&stack, "admin", true, &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.signal(), Some(15), "{}", show(&out));
    // ... and a shell that ran it reports 128+15, as for any command.
    let script = format!(
        "{} exec admin -- sh -c 'kill -TERM $$'; echo status=$?",
        env!("CARGO_BIN_EXE_rolepick")
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .envs(stack.sb.base_env())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(text(&out.stdout).contains("status=143"), "{}", show(&out));
}

#[test]
fn exec_replaces_rolepick_with_the_command() {
    let stack = Stack::start();
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    // Warm (static credentials): the command runs in rolepick's own process.
    let child = stack
        .sb
        .std_cmd()
        .args(["exec", "admin", "--", "sh", "-c", "echo $$"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert_eq!(text(&out.stdout).trim(), pid.to_string(), "{}", show(&out));
    // Cold too (MFA session, role, cache write, lock): still one process.
    let cache = stack.sb.cache.clone();
    std::fs::remove_dir_all(&cache).unwrap();
    let child = stack
        .sb
        .std_cmd()
        .args([
            "exec",
            "admin",
            "--mfa-code",
            MFA_CODE,
            "--",
            "sh",
            "-c",
            "echo $$",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert_eq!(text(&out.stdout).trim(), pid.to_string(), "{}", show(&out));
}

#[test]
fn exec_command_gets_only_the_standard_descriptors() {
    let stack = Stack::start();
    let list_fds = ["sh", "-c", "ls /proc/$$/fd"];
    // What the same command gets started by this test directly (with any
    // descriptor the test harness itself passes on).
    let baseline = std::process::Command::new(list_fds[0])
        .args(&list_fds[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let baseline = text(&baseline.stdout);
    assert!(
        baseline.split_whitespace().any(|fd| fd == "2"),
        "{baseline}"
    );
    // The cold path opens the cache, its lock and sockets to STS.
    for code in [true, false] {
        let out = exec(&stack, "admin", code, &list_fds);
        assert_ok(&out);
        assert_eq!(text(&out.stdout), baseline, "{}", show(&out));
    }
}

#[test]
fn exec_command_reads_stdin_and_writes_stdout_and_the_terminal_is_its_own() {
    let stack = Stack::start();
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    let mut child = stack
        .sb
        .std_cmd()
        .args([
            "exec",
            "admin",
            "--",
            "sh",
            "-c",
            "read line; echo \"got $line\"; echo err >&2",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "got hello\n", "{}", show(&out));
    assert_eq!(text(&out.stderr), "err\n", "{}", show(&out));
    // In a terminal (script(1) gives one): the command's stdin and stdout
    // are that terminal, and it is the terminal's foreground process.
    crate::support::assert_exec_owns_the_terminal(
        Path::new(env!("CARGO_BIN_EXE_rolepick")),
        stack.sb.base_env(),
    );
}

#[test]
fn exec_inside_a_rolepick_child_needs_nest() {
    let stack = Stack::start();
    let refused = stack
        .sb
        .cmd()
        .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"])
        .env("ROLEPICK_PROFILE", "x")
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("--nest"),
        "the refusal should say how to override it\n{}",
        show(&refused)
    );
    assert_eq!(stack.proxy.total(), 0, "refused before any AWS call");

    let nested = stack
        .sb
        .cmd()
        .args([
            "exec",
            "admin",
            "--nest",
            "--mfa-code",
            MFA_CODE,
            "--",
            "env",
        ])
        .env("ROLEPICK_PROFILE", "x")
        .output()
        .unwrap();
    assert_ok(&nested);
    let env = parse_env_lines(&text(&nested.stdout));
    assert_eq!(
        env.get("ROLEPICK_PROFILE").map(String::as_str),
        Some("admin")
    );
}

#[test]
fn cache_is_private_and_holds_no_long_lived_key() {
    let stack = Stack::start();
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    assert_ok(&exec(&stack, "dev", false, &["true"]));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&stack.sb.cache),
        0o700,
        "cache dir {}",
        stack.sb.cache.display()
    );
    let files = stack.sb.cache_files();
    assert!(!files.is_empty(), "nothing cached");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let content = text(&std::fs::read(f).unwrap());
        assert_no_long_lived_key(&stack, &f.display().to_string(), &content);
    }
}

#[test]
fn a_cache_dir_others_can_write_keeps_its_mode_and_the_cache_goes_private_inside() {
    let stack = Stack::start();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    for m in [0o1777, 0o2775] {
        // Like /tmp (1777) or a group-shared directory (2775), with
        // somebody else's file in it.
        let shared = stack.sb.root().join(format!("shared-{m:o}"));
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(m)).unwrap();
        std::fs::write(shared.join("theirs.txt"), "not rolepick's").unwrap();
        let run = |code: bool| {
            let mut args = vec!["exec", "admin"];
            if code {
                args.extend(["--mfa-code", MFA_CODE]);
            }
            args.extend(["--", "true"]);
            stack
                .sb
                .cmd()
                .env("ROLEPICK_CACHE_DIR", &shared)
                .args(&args)
                .output()
                .unwrap()
        };
        assert_ok(&run(true));
        assert_eq!(mode(&shared), m, "{} was chmodded", shared.display());
        let private: Vec<_> = std::fs::read_dir(&shared)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("rolepick-")
            })
            .collect();
        assert_eq!(private.len(), 1, "one private subdirectory: {private:?}");
        assert_eq!(mode(&private[0]) & 0o777, 0o700);
        // The next run finds its cached credentials there (no code needed).
        assert_ok(&run(false));
        assert_eq!(mode(&shared), m);
    }
}

#[test]
fn two_concurrent_cold_execs_make_one_get_session_token() {
    let stack = Stack::start();
    let spawn = || {
        stack
            .sb
            .std_cmd()
            .args(["exec", "admin", "--mfa-code", MFA_CODE, "--", "true"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn rolepick")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        assert_ok(&child.wait_with_output().unwrap());
    }
    assert_eq!(
        stack.proxy.count("GetSessionToken"),
        1,
        "the session lock should make the second process wait and reuse"
    );
}

#[test]
fn malformed_mfa_codes_are_refused_before_any_aws_call() {
    let stack = Stack::start();
    for bad in ["12ab", "12345", "1234567"] {
        let out = rolepick(&stack, &["exec", "admin", "--mfa-code", bad, "--", "true"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad}: usage error\n{}",
            show(&out)
        );
        assert!(
            text(&out.stderr).contains(bad),
            "the message should quote {bad:?}\n{}",
            show(&out)
        );
    }
    assert_eq!(stack.proxy.total(), 0, "no request may reach AWS");
}

#[test]
fn list_json_shows_profiles_with_accounts_and_no_secrets() {
    let stack = Stack::start();
    let out = rolepick(&stack, &["list", "--json"]);
    assert_ok(&out);
    let doc = json(&out);
    for role in &stack.prov.roles {
        assert!(
            find_object(&doc, &role.profile, &role.account_id),
            "no entry for profile {:?} with account {:?} in\n{}",
            role.profile,
            role.account_id,
            text(&out.stdout)
        );
    }
    assert_no_long_lived_key(&stack, "`list --json`", &text(&out.stdout));
    assert_eq!(stack.proxy.total(), 0, "list needs no AWS call");
}

/// Is there a JSON object with a string field equal to `name` whose subtree
/// also holds the string `account` (any field names: the shape is the lead's)?
fn find_object(v: &serde_json::Value, name: &str, account: &str) -> bool {
    fn holds(v: &serde_json::Value, s: &str) -> bool {
        match v {
            serde_json::Value::String(x) => x == s || x.contains(&format!(":{s}:")),
            serde_json::Value::Number(n) => n.to_string() == s,
            serde_json::Value::Array(a) => a.iter().any(|x| holds(x, s)),
            serde_json::Value::Object(o) => o.values().any(|x| holds(x, s)),
            _ => false,
        }
    }
    match v {
        serde_json::Value::Object(o) => {
            (o.values().any(|x| x.as_str() == Some(name)) && holds(v, account))
                || o.values().any(|x| find_object(x, name, account))
        }
        serde_json::Value::Array(a) => a.iter().any(|x| find_object(x, name, account)),
        _ => false,
    }
}

const CRED_VARS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

#[test]
fn env_prints_the_same_role_credentials_in_every_format() {
    let stack = Stack::start();
    let env = |format: &str, code: bool| {
        let mut args = vec!["env", "admin", "--format", format];
        if code {
            args.extend(["--mfa-code", MFA_CODE]);
        }
        let out = rolepick(&stack, &args);
        assert_ok(&out);
        assert_no_long_lived_key(
            &stack,
            &format!("`env --format {format}`"),
            &text(&out.stdout),
        );
        out
    };

    // json: an object with the variables (or nested under one key).
    let out = env("json", true);
    let doc = json(&out);
    let vars = flatten_strings(&doc);
    for k in CRED_VARS {
        assert!(vars.contains_key(k), "{k} missing in json\n{}", show(&out));
    }
    let key_id = vars["AWS_ACCESS_KEY_ID"].clone();

    // sh: evaluate it with a real shell.
    let out = env("sh", false);
    let script = text(&out.stdout);
    let evaluated = std::process::Command::new("sh")
        .args(["-c", "eval \"$1\"; env", "sh", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_ok(&evaluated);
    let from_sh = parse_env_lines(&text(&evaluated.stdout));
    for k in CRED_VARS {
        assert!(
            from_sh.contains_key(k),
            "{k} not exported by the sh output:\n{script}"
        );
    }
    assert_eq!(from_sh["AWS_ACCESS_KEY_ID"], key_id, "cached creds reused");

    // fish: `set -gx NAME value` (or `set -x`) lines.
    let out = env("fish", false);
    let fish = text(&out.stdout);
    for k in CRED_VARS {
        assert!(
            fish.lines()
                .any(|l| l.starts_with("set ") && l.contains(" -") && l.contains(k)),
            "{k} not set in fish output:\n{fish}"
        );
    }
    assert!(fish.contains(&key_id));

    // dotenv: KEY=VALUE lines (values may be quoted).
    let out = env("dotenv", false);
    let dotenv: HashMap<_, _> = parse_env_lines(&text(&out.stdout))
        .into_iter()
        .map(|(k, v)| (k, v.trim_matches(|c| c == '"' || c == '\'').to_owned()))
        .collect();
    for k in CRED_VARS {
        assert!(
            dotenv.contains_key(k),
            "{k} missing in dotenv\n{}",
            show(&out)
        );
    }
    assert_eq!(dotenv["AWS_ACCESS_KEY_ID"], key_id);
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
}

fn flatten_strings(v: &serde_json::Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let serde_json::Value::Object(o) = v {
        for (k, x) in o {
            match x {
                serde_json::Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                serde_json::Value::Object(_) => out.extend(flatten_strings(x)),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn credential_process_prints_version_1_json_the_aws_cli_accepts() {
    let stack = Stack::start();
    let out = rolepick(
        &stack,
        &["credential-process", "admin", "--mfa-code", MFA_CODE],
    );
    assert_ok(&out);
    let doc = json(&out);
    assert_eq!(doc["Version"], 1, "{doc}");
    for k in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        assert!(
            doc[k].as_str().is_some_and(|s| !s.is_empty()),
            "{k} in {doc}"
        );
    }
    let exp = doc["Expiration"].as_str().unwrap_or_default();
    let exp = parse_rfc3339(exp).unwrap_or_else(|| panic!("Expiration {exp:?} not RFC 3339"));
    assert!(exp > SystemTime::now() + Duration::from_secs(60));
    assert_no_long_lived_key(&stack, "credential-process output", &text(&out.stdout));

    // The aws CLI itself, with a credential_process profile, using the cached session.
    let bin = env!("CARGO_BIN_EXE_rolepick");
    let config = format!(
        "{}\n[profile via-rolepick]\ncredential_process = {bin} credential-process admin\nregion = eu-west-1\n",
        stack.prov.config_file()
    );
    stack.sb.write_aws_file("config", &config);
    let who = stack
        .sb
        .aws()
        .args(["sts", "get-caller-identity", "--profile", "via-rolepick"])
        .output()
        .unwrap();
    assert_ok(&who);
    let arn = json(&who)["Arn"].as_str().unwrap_or_default().to_owned();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/primary-role/"),
        "{arn}"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
}

// --- STS failures, injected by the proxy -------------------------------------

#[test]
fn rejected_mfa_code_exits_3_and_caches_nothing() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_nth("GetSessionToken", 1, Canned::invalid_mfa());
    let out = exec(&stack, "admin", true, &["true"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).to_lowercase().contains("mfa"),
        "the message should say the MFA code was rejected\n{}",
        show(&out)
    );
    assert_eq!(stack.proxy.count("AssumeRole"), 0);
    // Nothing usable was cached: without a code it still needs one.
    assert!(!exec(&stack, "admin", false, &["true"]).status.success());
    // The next good code works.
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    assert_eq!(stack.proxy.count("GetSessionToken"), 2);
}

#[test]
fn invalid_long_lived_key_exits_3() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("GetSessionToken", Canned::invalid_client_token_id());
    let out = exec(&stack, "admin", true, &["true"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert_no_long_lived_secret(&stack, "the error message", &text(&out.stderr));
}

#[test]
fn role_that_cannot_be_assumed_exits_3_and_names_the_role() {
    let stack = Stack::start();
    let role_arn = stack.prov.role("readonly").role_arn.clone();
    stack.proxy.inject_always(
        "AssumeRole",
        Canned::role_not_assumable(&stack.prov.user_arn, &role_arn),
    );
    let out = exec(&stack, "readonly", true, &["true"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("readonly"),
        "the message should name the profile or role\n{}",
        show(&out)
    );
}

#[test]
fn persistent_throttling_exits_4() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("GetSessionToken", Canned::throttling());
    let out = exec(&stack, "admin", true, &["true"]);
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
}

#[test]
fn unknown_profile_exits_2_and_quotes_it() {
    let stack = Stack::start();
    let out = exec(&stack, "no-such-profile", true, &["true"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("no-such-profile"),
        "{}",
        show(&out)
    );
    assert_eq!(stack.proxy.total(), 0);
}

// --- regions of role chains (issue #25, item 4) -----------------------------

#[test]
fn a_role_chain_without_a_region_takes_the_nearest_one_up_its_chain() {
    let stack = Stack::start();
    let admin = stack.prov.role("admin");
    let dev = stack.prov.role("dev");
    // primary (the key) says us-east-1 ... admin says eu-west-3; `hop`,
    // chained from admin, says nothing: admin's region is the nearest.
    // `plain`, straight from the key with no region, takes the key's.
    let config = format!(
        "[profile primary]\nregion = us-east-1\n\n\
         [profile admin]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\nregion = eu-west-3\n\n\
         [profile hop]\nrole_arn = {}\nsource_profile = admin\n\n\
         [profile plain]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\n",
        admin.role_arn, stack.prov.mfa_serial, dev.role_arn, dev.role_arn, stack.prov.mfa_serial
    );
    stack.sb.write_aws_file("config", &config);
    for (profile, region) in [("hop", "eu-west-3"), ("plain", "us-east-1")] {
        let out = exec(&stack, profile, true, &["env"]);
        assert_ok(&out);
        let env = parse_env_lines(&text(&out.stdout));
        assert_eq!(
            env.get("AWS_REGION").map(String::as_str),
            Some(region),
            "{profile}"
        );
        // And the aws CLI, which needs a region, works in it.
        let out = exec(&stack, profile, false, CALLER_IDENTITY);
        assert_ok(&out);
        assert!(
            json(&out)["Arn"]
                .as_str()
                .is_some_and(|a| a.starts_with(&dev.assumed_arn_prefix())),
            "{}",
            show(&out)
        );
    }
    let out = rolepick(&stack, &["list", "--json"]);
    assert_ok(&out);
    let rows = json(&out);
    let region_of = |name: &str| {
        rows.as_array()
            .and_then(|a| a.iter().find(|r| r["profile"] == name))
            .map(|r| r["region"].clone())
    };
    assert_eq!(region_of("hop"), Some("eu-west-3".into()));
    assert_eq!(region_of("plain"), Some("us-east-1".into()));
}

// --- exec --duration and --no-session ----------------------------------------

fn assume_requests(stack: &Stack) -> Vec<crate::support::proxy::Recorded> {
    stack
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some("AssumeRole"))
        .collect()
}

#[test]
fn exec_no_session_assumes_the_role_from_the_key_with_the_mfa_code_and_no_session() {
    let stack = Stack::start();
    let mut args = vec![
        "exec",
        "admin",
        "--no-session",
        "--mfa-code",
        MFA_CODE,
        "--",
    ];
    args.extend(CALLER_IDENTITY);
    let out = rolepick(&stack, &args);
    assert_ok(&out);
    let arn = json(&out)["Arn"].as_str().unwrap_or_default().to_owned();
    assert!(
        arn.starts_with(&stack.prov.role("admin").assumed_arn_prefix()),
        "{arn}"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 0, "no MFA session");
    let assumed = assume_requests(&stack);
    assert_eq!(assumed.len(), 1);
    assert_eq!(
        assumed[0].form.get("SerialNumber"),
        Some(&stack.prov.mfa_serial)
    );
    assert_eq!(
        assumed[0].form.get("TokenCode").map(String::as_str),
        Some(MFA_CODE)
    );
    assert!(
        !stack.sb.cache_files().iter().any(|f| f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("session"))),
        "no MFA session cached: {:?}",
        stack.sb.cache_files()
    );
    // A profile it cannot apply to: exit 2 before any call.
    let config = format!(
        "{}\n[profile hop]\nrole_arn = {}\nsource_profile = admin\n",
        stack.prov.config_file(),
        stack.prov.role("dev").role_arn
    );
    stack.sb.write_aws_file("config", &config);
    let before = stack.proxy.total();
    for (profile, says) in [
        ("primary", "MFA session, not a role"),
        ("hop", "assumed from profile \"admin\""),
    ] {
        let out = rolepick(&stack, &["exec", profile, "--no-session", "--", "true"]);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(text(&out.stderr).contains(says), "{}", show(&out));
    }
    assert_eq!(stack.proxy.total(), before);
}

#[test]
fn exec_duration_sets_the_role_sessions_length_and_replaces_shorter_cached_credentials() {
    let stack = Stack::start();
    let run = |d: &str| {
        let out = rolepick(
            &stack,
            &[
                "exec",
                "admin",
                "--duration",
                d,
                "--mfa-code",
                MFA_CODE,
                "--",
                "env",
            ],
        );
        assert_ok(&out);
        let env = parse_env_lines(&text(&out.stdout));
        let exp = env
            .get("AWS_CREDENTIAL_EXPIRATION")
            .and_then(|e| parse_rfc3339(e))
            .expect("AWS_CREDENTIAL_EXPIRATION");
        exp.duration_since(SystemTime::now()).unwrap_or_default()
    };
    let left = run("2h");
    assert!(
        left > Duration::from_secs(7000) && left <= Duration::from_secs(7200),
        "{left:?}"
    );
    let asked: Vec<_> = assume_requests(&stack)
        .iter()
        .map(|r| r.form.get("DurationSeconds").cloned())
        .collect();
    assert_eq!(asked, [Some("7200".to_string())]);
    // Asked again: the cached credentials last that long; reused.
    run("7200");
    assert_eq!(assume_requests(&stack).len(), 1);
    // Longer than what is cached: new credentials, not the old ones.
    let left = run("3h");
    assert!(left > Duration::from_secs(10_000), "{left:?}");
    let asked: Vec<_> = assume_requests(&stack)
        .iter()
        .map(|r| r.form.get("DurationSeconds").cloned())
        .collect();
    assert_eq!(asked, [Some("7200".to_string()), Some("10800".to_string())]);
    // Outside 15m..12h, or not a duration: exit 2, quoted, no AWS call.
    let before = stack.proxy.total();
    for bad in ["13h", "10m", "soon"] {
        let out = rolepick(&stack, &["exec", "admin", "--duration", bad, "--", "true"]);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(
            text(&out.stderr).contains(&format!("\"{bad}\"")),
            "{}",
            show(&out)
        );
    }
    assert_eq!(stack.proxy.total(), before);
}

// --- rolepick clear ---------------------------------------------------------

fn cache_names(stack: &Stack) -> Vec<String> {
    let mut v: Vec<String> = stack
        .sb
        .cache_files()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("role-") || n.starts_with("session-"))
        .collect();
    v.sort();
    v
}

#[test]
fn clear_removes_a_profiles_role_credentials_its_session_or_everything_and_says_so() {
    let stack = Stack::start();
    assert_ok(&exec(&stack, "admin", true, &["true"]));
    assert_ok(&exec(&stack, "dev", false, &["true"]));
    let admin_file = stack.sb.role_cache_file("admin");
    let dev_file = stack.sb.role_cache_file("dev");
    assert!(admin_file.exists() && dev_file.exists());
    assert_eq!(cache_names(&stack).len(), 3, "{:?}", cache_names(&stack));

    // One profile: its role credentials only; the session stays.
    let out = rolepick(&stack, &["clear", "admin"]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("removed the cached role credentials of profile \"admin\""),
        "{}",
        show(&out)
    );
    assert!(!admin_file.exists() && dev_file.exists());
    assert_ok(&exec(&stack, "admin", false, &["true"]));
    assert_eq!(stack.proxy.count("GetSessionToken"), 1, "session reused");
    assert_eq!(stack.proxy.count("AssumeRole"), 3, "admin assumed again");

    // With --session: the source's MFA session too; a new code is needed.
    let out = rolepick(&stack, &["clear", "dev", "--session"]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("MFA session of source \"primary\""),
        "{}",
        show(&out)
    );
    assert!(!dev_file.exists());
    assert!(
        !cache_names(&stack)
            .iter()
            .any(|n| n.starts_with("session-")),
        "{:?}",
        cache_names(&stack)
    );
    let out = exec(&stack, "dev", false, &["true"]);
    assert!(!out.status.success(), "needs a code now\n{}", show(&out));

    // --all: every role credential and session; a symlink in the cache is
    // removed, its target untouched; nothing else in the cache goes.
    assert_ok(&exec(&stack, "dev", true, &["true"]));
    let outside = stack.sb.root().join("outside.json");
    std::fs::write(&outside, "keep me").unwrap();
    std::os::unix::fs::symlink(&outside, stack.sb.role_cache_file("readonly")).unwrap();
    let others: Vec<_> = stack
        .sb
        .cache_files()
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.starts_with("role-") && !n.starts_with("session-")
        })
        .collect();
    let out = rolepick(&stack, &["clear", "--all"]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("removed 3 cached role credentials and 1 MFA session"),
        "{}",
        show(&out)
    );
    assert_eq!(cache_names(&stack), Vec::<String>::new());
    assert!(std::fs::symlink_metadata(stack.sb.role_cache_file("readonly")).is_err());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    for p in others {
        assert!(p.exists(), "{} was removed", p.display());
    }
    assert!(stack.sb.home.join(".aws/credentials").exists());
    let out = rolepick(&stack, &["clear", "--all"]);
    assert_ok(&out);
    assert!(text(&out.stderr).contains("removed 0 cached role credentials and 0 MFA sessions"));

    // Usage errors: nothing named, both, an unknown profile.
    for args in [
        &["clear"][..],
        &["clear", "admin", "--all"],
        &["clear", "nope"],
        &["clear", "--session"],
    ] {
        let out = rolepick(&stack, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", show(&out));
    }
}

// --- list: no configuration, and width -------------------------------------

#[test]
fn list_without_profiles_names_rolepick_setup() {
    let stack = Stack::start();
    stack.sb.write_aws_file("config", "");
    stack.sb.write_aws_file("credentials", "");
    let out = rolepick(&stack, &["list"]);
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("no profiles configured"), "{err}");
    assert!(err.contains("`rolepick setup`"), "{err}");
}

#[test]
fn list_fits_its_table_to_columns_cutting_long_names_but_not_profile_names() {
    let stack = Stack::start();
    let long = "a-rather-long-account-alias-for-the-production-workloads";
    let config = format!(
        "{}\n[profile prod-deploy-with-a-long-name]\nrole_arn = arn:aws:iam::123456789012:role/{long}-DeploymentRole\nsource_profile = primary\nmfa_serial = {}\n",
        stack.prov.config_file(),
        stack.prov.mfa_serial
    );
    stack.sb.write_aws_file("config", &config);
    let toml = format!(
        "[[account]]\nname = \"{long}\"\nid = \"123456789012\"\nsource = \"primary\"\nroles = [\"{long}-Role\"]\n"
    );
    let dir = stack.sb.root().join("xdg/config/rolepick");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), toml).unwrap();
    // Piped, no COLUMNS: whole.
    let out = rolepick(&stack, &["list"]);
    assert_ok(&out);
    let whole = text(&out.stdout);
    assert!(whole.lines().any(|l| l.chars().count() > 120), "{whole}");
    assert!(!whole.contains('…'));
    // COLUMNS=120, as a 120-column terminal: every line fits, names cut
    // with `…`, every profile name whole.
    let out = stack
        .sb
        .cmd()
        .args(["list"])
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    assert_ok(&out);
    let fitted = text(&out.stdout);
    for l in fitted.lines() {
        assert!(
            l.chars().count() <= 120,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    assert!(fitted.contains('…'), "{fitted}");
    for p in [
        "prod-deploy-with-a-long-name",
        &format!("{long}-{long}-Role")[..12],
        "admin",
        "dev",
    ] {
        assert!(fitted.contains(p), "{p} in\n{fitted}");
    }
    assert!(fitted.contains("prod-deploy-with-a-long-name "), "{fitted}");
}
