//! The real `rolepick` binary against moto (through the recording proxy) for
//! the configurations and failures a user meets: each gives one clear
//! message that quotes the value, names the file and line where there is
//! one, and exits with the documented code. Also the less common ways of
//! getting credentials (stdin code, mfa_process, no MFA, key-only profiles,
//! config.toml).

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use crate::support::{show, text, Canned, Sandbox, Stack, MFA_CODE};

fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd().args(args).output().expect("run rolepick")
}

fn caller_arn(out: &Output) -> String {
    assert!(out.status.success(), "{}", show(out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["Arn"].as_str().unwrap_or_default().to_string()
}

const WHOAMI: &[&str] = &["aws", "sts", "get-caller-identity", "--output", "json"];

fn exec_args<'a>(profile: &'a str, code: Option<&'a str>, cmd: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["exec", profile];
    if let Some(c) = code {
        a.extend(["--mfa-code", c]);
    }
    a.push("--");
    a.extend(cmd);
    a
}

#[test]
fn duration_above_the_roles_maximum_names_the_setting_and_its_line() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("AssumeRole", Canned::duration_too_long());
    let out = run(&stack.sb, &exec_args("dev", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("duration_seconds = 7200"), "{err}");
    assert!(err.contains("\"dev\""), "{err}");
    assert!(err.contains(".aws/config:"), "{err}");
}

#[test]
fn duration_outside_what_aws_allows_is_refused_before_any_call() {
    let stack = Stack::start();
    let cfg = stack
        .prov
        .config_file()
        .replace("duration_seconds = 7200", "duration_seconds = 86400");
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_args("dev", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("86400"), "{}", show(&out));
    assert_eq!(stack.proxy.total(), 0);
}

#[test]
fn unreachable_endpoint_exits_4_and_names_it() {
    let stack = Stack::start();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let out = stack
        .sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &url)
        .args(exec_args("admin", Some(MFA_CODE), &["true"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert_eq!(err.lines().count(), 1, "one message, no SDK stack:\n{err}");
}

#[test]
fn expired_long_lived_key_says_so() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_always("GetSessionToken", Canned::expired_token());
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(text(&out.stderr).contains("expired"), "{}", show(&out));
}

#[test]
fn brief_throttling_is_retried_with_backoff() {
    let stack = Stack::start();
    stack
        .proxy
        .inject_nth("GetSessionToken", 1, Canned::throttling());
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), WHOAMI));
    assert!(caller_arn(&out).contains(":assumed-role/primary-role/"));
    assert_eq!(stack.proxy.count("GetSessionToken"), 2);
}

#[test]
fn credentials_file_readable_by_others_is_refused_with_the_fix() {
    let stack = Stack::start();
    let path = stack.sb.home.join(".aws/credentials");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("chmod 600 {}", path.display())),
        "{err}"
    );
    assert!(!err.contains(&stack.prov.secret_access_key));
    assert_eq!(stack.proxy.total(), 0);
}

#[test]
fn group_readable_credentials_file_is_warned_about() {
    let stack = Stack::start();
    let path = stack.sb.home.join(".aws/credentials");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &["true"]));
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("readable by its group"),
        "{}",
        show(&out)
    );
}

#[test]
fn malformed_config_names_file_and_line() {
    let stack = Stack::start();
    let cfg = format!("{}\nthis line is wrong\n", stack.prov.config_file());
    let line = cfg.lines().count();
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &["list"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&format!(".aws/config:{line}")), "{err}");
    assert!(err.contains("\"this line is wrong\""), "{err}");
}

#[test]
fn missing_source_profile_and_loops_are_explained() {
    let stack = Stack::start();
    let cfg = format!(
        "{}\n[profile orphan]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = nobody\n\
         [profile ping]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = pong\n\
         [profile pong]\nrole_arn = arn:aws:iam::111122223333:role/y\nsource_profile = ping\n",
        stack.prov.config_file()
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_args("orphan", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("\"nobody\""), "{}", show(&out));
    let out = run(&stack.sb, &exec_args("ping", Some(MFA_CODE), &["true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("ping -> pong -> ping"),
        "{}",
        show(&out)
    );
    // The rest still works, and `list` warns about the broken ones.
    let out = run(&stack.sb, &["list"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stderr).contains("\"orphan\""), "{}", show(&out));
    assert_eq!(stack.proxy.total(), 0);
}

#[test]
fn corrupt_cache_entry_is_ignored_with_a_warning() {
    let stack = Stack::start();
    assert!(
        run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &["true"]))
            .status
            .success()
    );
    let entry = std::fs::read_dir(&stack.sb.cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("role-admin-") && n.ends_with(".json"))
        })
        .expect("admin's cache file");
    std::fs::write(&entry, "{ not json").unwrap();
    let out = run(&stack.sb, &exec_args("admin", None, WHOAMI));
    assert!(caller_arn(&out).contains("primary-role"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("ignoring corrupt cache file"),
        "{}",
        show(&out)
    );
    // Re-assumed from the cached session: no second MFA session.
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    assert_eq!(stack.proxy.count("AssumeRole"), 2);
}

#[test]
fn mfa_code_can_come_from_stdin() {
    let stack = Stack::start();
    let out = stack
        .sb
        .cmd()
        .args(exec_args("admin", Some("-"), WHOAMI))
        .write_stdin("654321\n")
        .output()
        .unwrap();
    assert!(caller_arn(&out).contains("primary-role"));
    let sent: Vec<_> = stack
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some("GetSessionToken"))
        .collect();
    assert_eq!(
        sent[0].form.get("TokenCode").map(String::as_str),
        Some("654321")
    );
}

#[test]
fn mfa_process_supplies_the_code() {
    let stack = Stack::start();
    let cfg = stack.prov.config_file().replacen(
        "[profile primary]\n",
        "[profile primary]\nmfa_process = echo 246810\n",
        1,
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_args("admin", None, WHOAMI));
    assert!(caller_arn(&out).contains("primary-role"), "{}", show(&out));
    let sent = stack.proxy.requests();
    let gst = sent
        .iter()
        .find(|r| r.action.as_deref() == Some("GetSessionToken"))
        .expect("a GetSessionToken call");
    assert_eq!(
        gst.form.get("TokenCode").map(String::as_str),
        Some("246810")
    );
}

#[test]
fn role_without_mfa_serial_is_assumed_straight_from_the_key() {
    let stack = Stack::start();
    let role = stack.prov.role("readonly").role_arn.clone();
    let cfg = format!(
        "{}\n[profile nomfa]\nrole_arn = {role}\nsource_profile = primary\nrole_session_name = ci-job\nexternal_id = ext-42\n",
        stack.prov.config_file()
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_args("nomfa", None, WHOAMI));
    let arn = caller_arn(&out);
    assert!(
        arn.ends_with(&format!(
            "/{}/ci-job",
            stack.prov.role("readonly").role_name
        )),
        "{arn}"
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 0);
    let sent = stack.proxy.requests();
    let ar = sent
        .iter()
        .find(|r| r.action.as_deref() == Some("AssumeRole"))
        .unwrap();
    assert_eq!(
        ar.form.get("ExternalId").map(String::as_str),
        Some("ext-42")
    );
    assert_eq!(
        ar.form.get("RoleSessionName").map(String::as_str),
        Some("ci-job")
    );
}

#[test]
fn key_only_profile_with_mfa_runs_on_a_session_token() {
    let stack = Stack::start();
    let cfg = stack.prov.config_file().replacen(
        "[profile primary]\n",
        &format!(
            "[profile primary]\nmfa_serial = {}\n",
            stack.prov.mfa_serial
        ),
        1,
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_args("primary", Some(MFA_CODE), &["env"]));
    assert!(out.status.success(), "{}", show(&out));
    let env = crate::support::parse_env_lines(&text(&out.stdout));
    let id = env.get("AWS_ACCESS_KEY_ID").cloned().unwrap_or_default();
    assert_ne!(
        id, stack.prov.access_key_id,
        "the long-lived key must not reach the child"
    );
    assert!(env.contains_key("AWS_SESSION_TOKEN"));
    assert!(!text(&out.stdout).contains(&stack.prov.secret_access_key));
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    let gst = stack
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some("GetSessionToken"))
        .unwrap();
    assert_eq!(gst.form.get("SerialNumber"), Some(&stack.prov.mfa_serial));
}

#[test]
fn config_toml_profiles_work_alongside_aws_config() {
    let stack = Stack::start();
    let dev = stack.prov.role("dev");
    let toml = format!(
        r#"
[[source]]
name = "primary"
mfa_serial = "{serial}"
region = "eu-west-1"

[[account]]
name = "sandbox"
id = "{account}"
group = "non-prod"
roles = [{{ name = "{role}", profile = "sb-dev" }}]
"#,
        serial = stack.prov.mfa_serial,
        account = dev.account_id,
        role = dev.role_name,
    );
    // Only the key stays in the credentials file; no ~/.aws/config at all.
    std::fs::remove_file(stack.sb.home.join(".aws/config")).unwrap();
    let path = stack.sb.root().join("rolepick.toml");
    std::fs::write(&path, toml).unwrap();
    let out = stack
        .sb
        .cmd()
        .arg("--config")
        .arg(&path)
        .args(exec_args("sb-dev", Some(MFA_CODE), WHOAMI))
        .output()
        .unwrap();
    assert!(caller_arn(&out).contains(&format!(":assumed-role/{}/", dev.role_name)));
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_CONFIG", &path)
        .args(["exec", "sb-dev", "--", "sh", "-c", "echo $AWS_REGION"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "eu-west-1", "{}", show(&out));
}

#[test]
fn missing_explicit_config_toml_is_an_error() {
    let stack = Stack::start();
    let out = run(
        &stack.sb,
        &["--config", "/nonexistent/rolepick.toml", "list"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("/nonexistent/rolepick.toml"));
}

#[test]
fn missing_command_exits_127() {
    let stack = Stack::start();
    let out = run(
        &stack.sb,
        &exec_args("admin", Some(MFA_CODE), &["no-such-command-xyz"]),
    );
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    assert!(text(&out.stderr).contains("\"no-such-command-xyz\""));
}

#[test]
fn command_that_is_not_executable_exits_126() {
    let stack = Stack::start();
    let file = stack.sb.root().join("not-executable.sh");
    std::fs::write(&file, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.to_str().unwrap();
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &[path]));
    assert_eq!(out.status.code(), Some(126), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("not-executable.sh") && err.to_lowercase().contains("permission denied"),
        "{err}"
    );
    assert!(!text(&out.stdout).contains("ran"), "{}", show(&out));
}

#[test]
fn help_documents_exit_codes_and_that_env_prints_secrets() {
    let stack = Stack::start();
    let out = run(&stack.sb, &["exec", "--help"]);
    assert!(text(&out.stdout).contains("Exit codes"));
    let out = run(&stack.sb, &["env", "--help"]);
    assert!(text(&out.stdout).contains("PRINTS SECRETS"));
    let out = run(&stack.sb, &["credential-process", "--help"]);
    assert!(text(&out.stdout).contains("PRINTS SECRETS"));
}

#[test]
fn aws_config_file_and_shared_credentials_file_move_the_files() {
    let stack = Stack::start();
    let elsewhere = stack.sb.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for name in ["config", "credentials"] {
        std::fs::rename(stack.sb.home.join(".aws").join(name), elsewhere.join(name)).unwrap();
    }
    let out = stack
        .sb
        .cmd()
        .env("AWS_CONFIG_FILE", elsewhere.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", elsewhere.join("credentials"))
        .args(exec_args("admin", Some(MFA_CODE), WHOAMI))
        .output()
        .unwrap();
    assert!(caller_arn(&out).contains("primary-role"), "{}", show(&out));
    // Without them the profiles are unknown.
    let out = run(&stack.sb, &["exec", "admin", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
fn aws_endpoint_url_sts_wins_over_aws_endpoint_url() {
    let stack = Stack::start();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let out = stack
        .sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &closed)
        .env("AWS_ENDPOINT_URL_STS", stack.proxy.endpoint())
        .args(exec_args("admin", Some(MFA_CODE), &["true"]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stack.proxy.count("AssumeRole"), 1);
}

#[test]
fn exec_without_a_command_starts_the_users_shell_with_a_banner() {
    let stack = Stack::start();
    let out = stack
        .sb
        .cmd()
        .env("SHELL", "/bin/sh")
        .args(["exec", "dev", "--mfa-code", MFA_CODE])
        .write_stdin("echo \"inside:$ROLEPICK_PROFILE:$AWS_REGION\"\nexit 5\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert!(text(&out.stdout).contains("inside:dev:"), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("dev") && err.contains("expire"),
        "banner: {err}"
    );
}

/// Issue #25, item 5: the README's `credential_process = rolepick
/// credential-process admin` profile made every `list` warn that it "uses
/// credential_process, which rolepick does not handle".
#[test]
fn credential_process_profiles_are_quiet_and_others_tools_profiles_named_once_in_list() {
    let stack = Stack::start();
    let role = stack.prov.role("admin").role_arn.clone();
    let config = format!(
        "{}\n[profile admin-rp]\ncredential_process = rolepick credential-process admin\nregion = us-east-1\n\n\
         [profile via-path]\ncredential_process = \"/opt/bin/rolepick\" --verbose credential-process dev\n\n\
         [profile vendor]\ncredential_process = /usr/local/bin/vendor-creds --account x\n\n\
         [profile ci]\nrole_arn = {role}\nweb_identity_token_file = /var/run/token\n\n\
         [profile ec2]\nrole_arn = {role}\ncredential_source = Ec2InstanceMetadata\n\n\
         [profile typo]\nrole_arn = {role}\nsource_profile = nowhere\n",
        stack.prov.config_file()
    );
    stack.sb.write_aws_file("config", &config);
    for args in [&["list"][..], &["list", "--json"][..]] {
        let out = run(&stack.sb, args);
        assert!(out.status.success(), "{}", show(&out));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        for quiet in ["admin-rp", "via-path"] {
            assert!(!stderr.contains(quiet), "{quiet} in {stderr}");
            assert!(!stdout.contains(quiet), "{quiet} in {stdout}");
        }
        let note: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("\"vendor\""))
            .collect();
        assert_eq!(note.len(), 1, "one line names them:\n{stderr}");
        for other in ["\"ci\"", "\"ec2\""] {
            assert!(note[0].contains(other), "{other} in {}", note[0]);
        }
        assert!(!note[0].contains("warning"), "{}", note[0]);
        // A profile that is wrong is still warned about.
        assert_eq!(
            stderr.lines().filter(|l| l.contains("warning")).count(),
            1,
            "{stderr}"
        );
        assert!(stderr.contains("\"typo\""), "{stderr}");
    }
    // Other commands say nothing of them...
    let out = run(&stack.sb, &exec_args("admin", Some(MFA_CODE), &["true"]));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(text(&out.stderr), "", "{}", show(&out));
    // ...unless asked to use one.
    let out = run(&stack.sb, &exec_args("vendor", None, &["true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("uses credential_process; rolepick leaves"),
        "{}",
        show(&out)
    );
}
