//! The credential endpoint end to end: the real `rolepick` binary against
//! moto through the recording proxy, with the real aws CLI, boto3 and Python
//! in the child reading `AWS_CONTAINER_CREDENTIALS_FULL_URI`.

use std::collections::HashMap;
use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use crate::support::{parse_env_lines, show, text, Stack, MFA_CODE};

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(out.status.success(), "expected success\n{}", show(out));
}

/// config.toml in the sandbox (`$XDG_CONFIG_HOME/rolepick/config.toml`).
fn write_config_toml(stack: &Stack, text: &str) {
    let dir = stack.sb.root().join("xdg/config/rolepick");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("config.toml"), text).unwrap();
}

/// An executable script in the sandbox; returns its path.
fn script(stack: &Stack, name: &str, body: &str) -> String {
    let path = stack.sb.root().join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

/// Role credentials of 900 s that the endpoint must refresh on every request.
fn short_lived(stack: &Stack) {
    write_config_toml(stack, "[settings]\nrefresh_before = \"899s\"\n");
    // dev's section, with any duration_seconds it had replaced by 900.
    let config = stack.sb.prov.config_file_with_duration("dev", 900);
    stack.sb.write_aws_file("config", &config);
}

/// Every secret the cache holds (role and session credentials).
fn cached_secrets(stack: &Stack) -> Vec<String> {
    let mut out = Vec::new();
    for f in stack.sb.cache_files() {
        let Ok(t) = fs::read_to_string(&f) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) else {
            continue;
        };
        for k in ["secret_access_key", "session_token"] {
            if let Some(s) = v[k].as_str() {
                out.push(s.to_string());
            }
        }
    }
    out
}

#[test]
fn the_endpoint_refreshes_credentials_for_a_command_run_with_server() {
    let stack = Stack::start();
    short_lived(&stack);
    let out = stack
        .sb
        .cmd()
        .args([
            "-v",
            "exec",
            "dev",
            "--server",
            "--mfa-code",
            MFA_CODE,
            "--",
        ])
        .args([
            "sh",
            "-c",
            "env | grep -E '^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)=' ; \
             echo uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI; \
             aws sts get-caller-identity --query Arn --output text && sleep 1 && \
             aws sts get-caller-identity --query Arn --output text",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let arn = stack.prov.role("dev").assumed_arn_prefix();
    assert_eq!(stdout.matches(&arn).count(), 2, "{}", show(&out));
    assert!(
        !stdout.contains("AWS_ACCESS_KEY_ID="),
        "no static keys with --server:\n{stdout}"
    );
    assert!(stdout.contains("uri=http://127.0.0.1:"), "{stdout}");
    // exec's own AssumeRole, then one per aws process: the 900 s credentials
    // are inside the 899 s refresh window at once.
    let assumed = stack.proxy.count("AssumeRole");
    eprintln!("AssumeRole calls: {assumed}");
    assert!(
        assumed >= 3,
        "endpoint refreshed: {assumed} AssumeRole\n{}",
        show(&out)
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
    // Nothing secret was printed, even with -v.
    let all = format!("{stdout}{}", text(&out.stderr));
    for s in cached_secrets(&stack) {
        assert!(!all.contains(&s), "a secret was printed:\n{}", show(&out));
    }
}

/// boto3, one long-lived process (a Terraform-like run): its refreshable
/// credentials come from the endpoint and are refreshed from it again
/// within the same process, as they near expiry.
#[test]
fn a_long_running_boto3_process_refreshes_through_the_endpoint() {
    let stack = Stack::start();
    short_lived(&stack);
    let py = stack.sb.root().join("long_run.py");
    fs::write(
        &py,
        "import boto3, time\n\
         sts = boto3.session.Session().client('sts')\n\
         keys = set()\n\
         for i in range(3):\n\
         \x20   print(sts.get_caller_identity()['Arn'], flush=True)\n\
         \x20   keys.add(sts._request_signer._credentials.get_frozen_credentials().access_key)\n\
         \x20   time.sleep(1)\n\
         print('distinct-keys', len(keys))\n",
    )
    .unwrap();
    let before = stack.proxy.count("AssumeRole");
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--server", "--mfa-code", MFA_CODE, "--"])
        .arg("python3")
        .arg(&py)
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let arn = stack.prov.role("dev").assumed_arn_prefix();
    assert_eq!(stdout.matches(&arn).count(), 3, "{}", show(&out));
    // exec's own AssumeRole, then the endpoint's: botocore refreshes 900 s
    // credentials on use (they are inside its 15-minute advisory window),
    // so one process sees more than one set of keys.
    let assumed = stack.proxy.count("AssumeRole") - before;
    assert!(assumed >= 3, "{assumed} AssumeRole\n{}", show(&out));
    let distinct: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("distinct-keys "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count\n{}", show(&out)));
    assert!(distinct >= 2, "refreshed in-process:\n{}", show(&out));
}

#[test]
fn tokens_paths_and_lifetime_of_two_nested_endpoints() {
    let stack = Stack::start();
    let check = stack.sb.root().join("check.py");
    fs::write(
        &check,
        r#"
import json, os, urllib.request, urllib.error
def get(url, token):
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
iu, it = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
ou, ot = os.environ["OUTER_URI"], os.environ["OUTER_TOKEN"]
out = {}
out["inner_ok"], inner = get(iu, it)
out["outer_ok"], outer = get(ou, ot)
out["inner_key"], out["outer_key"] = inner["AccessKeyId"], outer["AccessKeyId"]
out["inner_has"] = sorted(inner)
out["outer_with_inner_token"] = get(ou, it)[0]
out["inner_with_outer_token"] = get(iu, ot)[0]
out["no_token"] = get(iu, None)[0]
out["wrong_token"] = get(iu, "x" * len(it))[0]
out["other_path"] = get(iu.rsplit("/", 1)[0] + "/other", it)[0]
out["root"] = get(iu.rsplit("/", 1)[0] + "/", it)[0]
out["inner_path_on_outer_port"] = get(ou.rsplit("/", 1)[0] + "/" + iu.rsplit("/", 1)[1], it)[0]
out["outer_uri"] = ou
out["inner_uri"] = iu
print(json.dumps(out))
"#,
    )
    .unwrap();
    let rp = env!("CARGO_BIN_EXE_rolepick");
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--server", "--mfa-code", MFA_CODE, "--"])
        .args([
            "sh",
            "-c",
            &format!(
                "OUTER_URI=$AWS_CONTAINER_CREDENTIALS_FULL_URI OUTER_TOKEN=$AWS_CONTAINER_AUTHORIZATION_TOKEN \
                 {rp} exec --nest admin --server -- sh -c 'python3 {} && aws sts get-caller-identity --query Arn --output text'",
                check.display()
            ),
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let line = stdout.lines().next().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}\n{}", show(&out)));
    assert_eq!(v["inner_ok"], 200);
    assert_eq!(v["outer_ok"], 200);
    assert_eq!(
        v["inner_has"],
        serde_json::json!(["AccessKeyId", "Expiration", "SecretAccessKey", "Token"])
    );
    assert_ne!(v["inner_key"], v["outer_key"], "each shell its own role");
    assert_eq!(v["outer_with_inner_token"], 403);
    assert_eq!(v["inner_with_outer_token"], 403);
    assert_eq!(v["no_token"], 403);
    assert_eq!(v["wrong_token"], 403);
    assert_eq!(v["other_path"], 404);
    assert_eq!(v["root"], 404);
    assert_eq!(v["inner_path_on_outer_port"], 404);
    let admin = stack.prov.role("admin");
    assert!(
        stdout.contains(&admin.assumed_arn_prefix()),
        "the inner shell runs as admin:\n{}",
        show(&out)
    );
    // Both endpoints are gone with their shells.
    for uri in [&v["outer_uri"], &v["inner_uri"]] {
        let hostport = uri.as_str().unwrap()["http://".len()..]
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let err = TcpStream::connect(&hostport).expect_err("endpoint still listening");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{hostport}"
        );
    }
    let all = format!("{stdout}{}", text(&out.stderr));
    for s in cached_secrets(&stack) {
        assert!(!all.contains(&s), "a secret was printed:\n{}", show(&out));
    }
}

/// `rolepick exec dev` with `$SHELL` set to a script that prints its env.
fn shell_env(stack: &Stack, extra: &[&str]) -> (Output, HashMap<String, String>) {
    let sh = script(stack, "printenv.sh", "env");
    let out = stack
        .sb
        .cmd()
        .env("SHELL", &sh)
        .args(["exec", "dev", "--mfa-code", MFA_CODE])
        .args(extra)
        .output()
        .unwrap();
    assert_ok(&out);
    let env = parse_env_lines(&text(&out.stdout));
    (out, env)
}

#[test]
fn an_interactive_shell_gets_the_endpoint_and_env_creds_keeps_static_keys() {
    let stack = Stack::start();
    let (out, env) = shell_env(&stack, &[]);
    assert!(
        env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{}",
        show(&out)
    );
    assert_eq!(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"].len(), 64);
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert!(!env.contains_key(gone), "{gone} set:\n{}", show(&out));
    }
    for kept in [
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "ROLEPICK_PROFILE",
    ] {
        assert!(env.contains_key(kept), "{kept} missing:\n{}", show(&out));
    }
    assert!(
        text(&out.stderr).contains("kept fresh by rolepick"),
        "{}",
        show(&out)
    );

    let (out, env) = shell_env(&stack, &["--env-creds"]);
    assert!(env.contains_key("AWS_ACCESS_KEY_ID"), "{}", show(&out));
    assert!(!env.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI"));

    write_config_toml(&stack, "[settings]\nsubshell_credentials = \"env\"\n");
    let (out, env) = shell_env(&stack, &[]);
    assert!(env.contains_key("AWS_ACCESS_KEY_ID"), "{}", show(&out));
    let (out, env) = shell_env(&stack, &["--server"]);
    assert!(
        env.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        "{}",
        show(&out)
    );

    // A command keeps static variables unless --server.
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--", "env"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(text(&out.stdout).contains("AWS_ACCESS_KEY_ID="));
}

#[test]
fn inherited_credentials_and_profile_selectors_do_not_reach_the_shell() {
    let stack = Stack::start();
    let sh = script(&stack, "printenv.sh", "env");
    let out = stack
        .sb
        .cmd()
        .env("SHELL", &sh)
        .env("AWS_ACCESS_KEY_ID", "AKIAINHERITED")
        .env("AWS_SECRET_ACCESS_KEY", "inherited")
        .env("AWS_PROFILE", "primary")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.2/x",
        )
        .args(["exec", "dev", "--mfa-code", MFA_CODE])
        .output()
        .unwrap();
    assert_ok(&out);
    let env = parse_env_lines(&text(&out.stdout));
    assert!(!env.contains_key("AWS_ACCESS_KEY_ID"), "{}", show(&out));
    assert!(!env.contains_key("AWS_PROFILE"), "{}", show(&out));
    assert!(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].starts_with("http://127.0.0.1:"));
}

#[test]
fn default_keys_in_the_credentials_file_would_shadow_the_endpoint_and_are_hidden() {
    let stack = Stack::start();
    let mut creds = stack.sb.prov.credentials_file();
    creds.push_str(&format!(
        "\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        stack.prov.access_key_id, stack.prov.secret_access_key
    ));
    stack.sb.write_aws_file("credentials", &creds);
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--server", "--mfa-code", MFA_CODE, "--"])
        .args([
            "sh",
            "-c",
            "echo file=$AWS_SHARED_CREDENTIALS_FILE; aws sts get-caller-identity --query Arn --output text; \"$1\" list --json",
            "sh",
            env!("CARGO_BIN_EXE_rolepick"),
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("file=/dev/null"), "{}", show(&out));
    // rolepick run inside that shell still reads the real credentials file:
    // the key-only profile `primary` (known only from it) is listed.
    assert!(
        stdout.contains("\"profile\": \"primary\""),
        "{}",
        show(&out)
    );
    let dev = stack.prov.role("dev");
    assert!(
        stdout.contains(&format!("assumed-role/{}/", dev.role_name)),
        "ran as the role, not the [default] user:\n{}",
        show(&out)
    );
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("[default] in").count(),
        1,
        "one line says why:\n{stderr}"
    );

    // [default] in the config file yielding credentials: static variables.
    let mut config = stack.sb.prov.config_file();
    config.push_str("\n[default]\ncredential_process = /bin/false\n");
    stack.sb.write_aws_file("config", &config);
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--server", "--", "env"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("AWS_ACCESS_KEY_ID="),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("static credentials instead"),
        "{}",
        show(&out)
    );
}

#[test]
fn when_the_mfa_session_runs_out_the_endpoint_says_so() {
    let stack = Stack::start();
    short_lived(&stack);
    // Expire the cached MFA session between two aws calls.
    let expire = format!("python3 {}", stack.sb.expire_cache_script().display());
    let out = stack
        .sb
        .cmd()
        .args(["exec", "dev", "--server", "--mfa-code", MFA_CODE, "--"])
        .args([
            "sh",
            "-c",
            &format!(
                "aws sts get-caller-identity --query Arn --output text; {expire}; \
                 aws sts get-caller-identity --query Arn --output text; echo second=$?"
            ),
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stdout.contains("assumed-role/"),
        "first call works:\n{}",
        show(&out)
    );
    assert!(
        !stdout.contains("second=0"),
        "second call fails:\n{}",
        show(&out)
    );
    // The aws CLI shows the endpoint's message; rolepick (no terminal here)
    // says it on stderr once.
    assert!(
        stderr.contains("MFA session of source \"primary\" has run out"),
        "{}",
        show(&out)
    );
    assert_eq!(stack.proxy.count("GetSessionToken"), 1);
}

/// rolepick with an empty environment (no moto needed).
fn bare() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rolepick"));
    c.env_clear().env("HOME", "/nonexistent");
    c
}

#[test]
fn prompt_prints_profile_and_time_left_from_the_environment_only() {
    let exp = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(42 * 60 + 30),
    )
    .to_string();
    let out = bare()
        .env("ROLEPICK_PROFILE", "dev")
        .env("AWS_CREDENTIAL_EXPIRATION", &exp)
        .env("ROLEPICK_CONFIG", "/nonexistent/config.toml")
        .arg("prompt")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "dev 42m\n");
    let out = bare().arg("prompt").output().unwrap();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "", "nothing outside a rolepick shell");
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef rolepick"),
        ("fish", "complete -c rolepick"),
    ] {
        let out = bare().args(["completions", shell]).output().unwrap();
        assert_ok(&out);
        let s = text(&out.stdout);
        assert!(s.contains(needle), "{shell}: {}", &s[..s.len().min(300)]);
        assert!(s.contains("exec"), "{shell} completes subcommands");
    }
}
