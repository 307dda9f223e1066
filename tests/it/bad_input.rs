//! The faults a hostile or careless user found (issue 12), through the real
//! binary against moto: values in the config that are checked at load with
//! their file:line, exit codes of their own, cache files that long or
//! non-ASCII profile names do not break or share, a lost vault index that
//! does not make the vault look empty, and output that cannot flood or
//! drive the terminal.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use crate::support::{show, text, Sandbox, Stack, MFA_CODE};

fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd().args(args).output().expect("run rolepick")
}

fn exec_true<'a>(profile: &'a str, code: Option<&'a str>) -> Vec<&'a str> {
    let mut a = vec!["exec", profile];
    if let Some(c) = code {
        a.extend(["--mfa-code", c]);
    }
    a.extend(["--", "true"]);
    a
}

/// The walkthrough's config plus `extra` sections.
fn config_with(stack: &Stack, extra: &str) -> String {
    format!("{}\n{extra}", stack.prov.config_file())
}

/// 1-based line of the first line of `text` that starts with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?}"))
        + 1
}

fn config_toml(sb: &Sandbox) -> PathBuf {
    sb.root().join("xdg/config/rolepick/config.toml")
}

fn write_config_toml(sb: &Sandbox, text: &str) {
    let path = config_toml(sb);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
}

// --- item 7: cache file names ------------------------------------------------

#[test]
fn a_300_character_profile_name_gets_credentials_and_a_cache_entry() {
    let stack = Stack::start();
    let long = "p".repeat(300);
    let dev = stack.prov.role("dev");
    let cfg = config_with(
        &stack,
        &format!(
            "[profile {long}]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\n",
            dev.role_arn, stack.prov.mfa_serial
        ),
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &exec_true(&long, Some(MFA_CODE)));
    assert!(out.status.success(), "{}", show(&out));
    let out = run(&stack.sb, &exec_true(&long, None));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        stack.proxy.count("AssumeRole"),
        1,
        "the second run is cached"
    );
}

#[test]
fn profiles_whose_names_look_alike_on_disk_keep_their_own_cache() {
    let stack = Stack::start();
    let admin = stack.prov.role("admin");
    let mut extra = String::new();
    for name in ["прод", "тест", "a/b", "a_b"] {
        extra.push_str(&format!(
            "[profile {name}]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\n\n",
            admin.role_arn, stack.prov.mfa_serial
        ));
    }
    stack
        .sb
        .write_aws_file("config", &config_with(&stack, &extra));
    let out = run(&stack.sb, &exec_true("прод", Some(MFA_CODE)));
    assert!(out.status.success(), "{}", show(&out));
    for name in ["тест", "a/b", "a_b", "прод", "тест", "a/b", "a_b"] {
        let out = run(&stack.sb, &exec_true(name, None));
        assert!(out.status.success(), "{name}: {}", show(&out));
    }
    assert_eq!(
        stack.proxy.count("AssumeRole"),
        4,
        "one AssumeRole per profile: none evicts another's cache entry"
    );
}

// --- item 8: values checked at load ------------------------------------------

#[test]
fn bad_config_values_are_refused_with_file_line_and_the_expected_shape() {
    let stack = Stack::start();
    let serial = stack.prov.mfa_serial.clone();
    let role = stack.prov.role("dev").role_arn.clone();
    let cases = [
        ("role_arn", "not-an-arn".to_string(), "IAM role ARN"),
        (
            "role_arn",
            "arn:aws:s3:::bucket".to_string(),
            "IAM role ARN",
        ),
        (
            "role_arn",
            "arn:aws:iam::111122223333:user/jane".to_string(),
            "IAM role ARN",
        ),
        (
            "role_arn",
            "arn:aws:iam::12345:role/admin".to_string(),
            "IAM role ARN",
        ),
        ("mfa_serial", "garbage".to_string(), "serial number"),
        ("region", "Frankfurt $(id)".to_string(), "region name"),
    ];
    for (key, value, shape) in cases {
        let mut section = format!(
            "[profile bad]\nrole_arn = {role}\nsource_profile = primary\nmfa_serial = {serial}\nregion = us-east-1\n"
        );
        section = section
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    format!("{key} = {value}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let cfg = config_with(&stack, &section);
        stack.sb.write_aws_file("config", &cfg);
        let line = cfg
            .lines()
            .enumerate()
            .skip(line_of(&cfg, "[profile bad]"))
            .find(|(_, l)| l.starts_with(&format!("{key} =")))
            .map(|(i, _)| i + 1)
            .unwrap();
        let out = run(&stack.sb, &exec_true("bad", Some(MFA_CODE)));
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{key} = {value}: {}",
            show(&out)
        );
        assert!(
            err.contains(&format!("{value:?}")),
            "quotes {value:?}: {err}"
        );
        assert!(
            err.contains(&format!(".aws/config:{line}")),
            "names line {line}: {err}"
        );
        assert!(err.contains(shape), "says the shape ({shape}): {err}");
        let out = run(&stack.sb, &["list"]);
        assert!(
            text(&out.stderr).contains("\"bad\" is not usable"),
            "list tells: {}",
            show(&out)
        );
    }
    assert_eq!(stack.proxy.total(), 0, "nothing reached AWS");
}

#[test]
fn a_hardware_mfa_serial_is_accepted() {
    let stack = Stack::start();
    let cfg = config_with(
        &stack,
        &format!(
            "[profile hw]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = GAHT12345678\n",
            stack.prov.role("dev").role_arn
        ),
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &["list", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("GAHT12345678"), "{}", show(&out));
}

#[test]
fn a_profile_with_source_profile_but_no_role_arn_names_the_missing_key() {
    let stack = Stack::start();
    let cfg = config_with(
        &stack,
        &format!(
            "[profile half]\nsource_profile = primary\nmfa_serial = {}\n",
            stack.prov.mfa_serial
        ),
    );
    stack.sb.write_aws_file("config", &cfg);
    let sp_line = cfg
        .lines()
        .enumerate()
        .skip(line_of(&cfg, "[profile half]"))
        .find(|(_, l)| l.starts_with("source_profile"))
        .map(|(i, _)| i + 1)
        .unwrap();
    let out = run(&stack.sb, &exec_true("half", Some(MFA_CODE)));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(!err.contains("unknown profile"), "{err}");
    assert!(err.contains("no role_arn"), "{err}");
    assert!(err.contains(&format!(".aws/config:{sp_line}")), "{err}");
    let out = run(&stack.sb, &["list"]);
    assert!(
        text(&out.stderr).contains("\"half\" is not usable"),
        "not silently dropped from list: {}",
        show(&out)
    );
}

// --- item 9: exit codes and messages -----------------------------------------

#[test]
fn a_config_that_is_not_utf8_is_a_usage_error_at_its_line() {
    let stack = Stack::start();
    let mut bytes = b"[profile primary]\nregion = us-east-1\n[profile x]\nregion = caf".to_vec();
    bytes.extend([0xe9, b'\n']);
    let path = stack.sb.home.join(".aws/config");
    std::fs::write(&path, &bytes).unwrap();
    let out = run(&stack.sb, &["list"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(".aws/config:4"),
        "names the line: {}",
        show(&out)
    );
}

#[test]
fn an_endpoint_url_that_is_not_a_url_is_a_usage_error_quoting_it() {
    let stack = Stack::start();
    let out = stack
        .sb
        .cmd()
        .env("AWS_ENDPOINT_URL", "not a url")
        .args(exec_true("dev", Some(MFA_CODE)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("\"not a url\""), "{err}");
    assert!(err.contains("AWS_ENDPOINT_URL"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    // The same before `vault add` checks a key with AWS.
    let out = stack
        .sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", "sts.example.com")
        .args(["vault", "add", "work", "--stdin"])
        .write_stdin(r#"{"AccessKeyId":"AKIAENDPOINT00000001","SecretAccessKey":"x"}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("AWS_ENDPOINT_URL_STS = \"sts.example.com\""));
    assert_eq!(stack.proxy.total(), 0);
}

#[test]
fn a_command_that_exists_but_is_not_executable_exits_126_like_a_shell() {
    let stack = Stack::start();
    let script = stack.sb.root().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = script.to_string_lossy().into_owned();
    let out = run(
        &stack.sb,
        &["exec", "dev", "--mfa-code", MFA_CODE, "--", &path],
    );
    assert_eq!(out.status.code(), Some(126), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("not-executable.sh"),
        "{}",
        show(&out)
    );
    let out = run(&stack.sb, &["exec", "dev", "--", "no-such-command-here"]);
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
}

#[test]
fn duration_seconds_zero_points_at_its_own_line() {
    let stack = Stack::start();
    let cfg = stack.prov.config_file_with_duration("dev", 0);
    stack.sb.write_aws_file("config", &cfg);
    let line = cfg
        .lines()
        .enumerate()
        .skip(line_of(&cfg, "[profile dev]"))
        .find(|(_, l)| l.starts_with("duration_seconds"))
        .map(|(i, _)| i + 1)
        .unwrap();
    let out = run(&stack.sb, &exec_true("dev", Some(MFA_CODE)));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(&format!(".aws/config:{line}")),
        "line {line}: {}",
        show(&out)
    );
    assert_eq!(stack.proxy.total(), 0);
}

#[test]
fn a_bad_session_duration_is_refused_by_list_at_its_line_in_config_toml() {
    let stack = Stack::start();
    write_config_toml(&stack.sb, "# settings\n[settings]\nsession_duration = 12\n");
    for args in [&["list"][..], &exec_true("dev", Some(MFA_CODE))] {
        let out = run(&stack.sb, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(err.contains("config.toml:3"), "{err}");
        assert!(err.contains("900"), "says the range: {err}");
    }
}

#[test]
fn refresh_before_longer_than_the_credentials_is_said_once_at_load() {
    let stack = Stack::start();
    write_config_toml(&stack.sb, "[settings]\nrefresh_before = \"2h\"\n");
    let out = run(&stack.sb, &["list"]);
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    let said = err
        .lines()
        .filter(|l| l.contains("refresh_before ="))
        .count();
    assert_eq!(said, 1, "once: {err}");
    assert!(err.contains("config.toml:2"), "{err}");
}

#[test]
fn exit_codes_in_the_readme_match_the_help() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("### Exit codes")
        .nth(1)
        .expect("README has an exit-code table");
    let readme_codes: Vec<u32> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.trim_matches('|').split('|').next()?.trim().parse().ok())
        .collect();
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_rolepick"))
        .arg("--help")
        .output()
        .unwrap();
    let help = text(&help.stdout);
    let help_codes: Vec<u32> = help
        .split("Exit codes:")
        .nth(1)
        .expect("--help has exit codes")
        .lines()
        .take_while(|l| !l.starts_with("Files"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(readme_codes, help_codes, "README vs --help");
    for code in [2, 3, 5, 126, 127] {
        assert!(readme_codes.contains(&code), "{code} documented");
    }
}

// --- item 10: output hygiene -------------------------------------------------

#[test]
fn a_huge_mfa_code_from_stdin_is_quoted_as_a_short_prefix() {
    let stack = Stack::start();
    let huge = "9".repeat(10 * 1024 * 1024);
    let out = stack
        .sb
        .cmd()
        .args(exec_true("dev", Some("-")))
        .write_stdin(huge)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        out.stderr.len() < 1000,
        "{} bytes of error",
        out.stderr.len()
    );
    assert!(text(&out.stderr).contains("not 6 digits"));
}

#[test]
fn list_escapes_control_characters_from_the_config() {
    let stack = Stack::start();
    let evil = "evil\u{1b}]0;pwned\u{7}";
    let cfg = config_with(
        &stack,
        &format!(
            "[profile {evil}]\nrole_arn = {}\nsource_profile = primary\nmfa_serial = {}\n",
            stack.prov.role("dev").role_arn,
            stack.prov.mfa_serial
        ),
    );
    stack.sb.write_aws_file("config", &cfg);
    let out = run(&stack.sb, &["list"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "raw control characters reached the terminal: {:?}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("evil\\u{1b}]0;pwned\\u{7}"));
    assert!(!out.stderr.contains(&0x1b), "{:?}", text(&out.stderr));
}

#[test]
fn each_warning_is_printed_once() {
    let stack = Stack::start();
    let index = stack.sb.home.join(".local/share/rolepick/vault-index.json");
    std::fs::create_dir_all(index.parent().unwrap()).unwrap();
    std::fs::write(&index, "{ damaged").unwrap();
    let mode = std::fs::Permissions::from_mode(0o640);
    std::fs::set_permissions(stack.sb.home.join(".aws/credentials"), mode).unwrap();
    for args in [&["list"][..], &exec_true("dev", Some(MFA_CODE))] {
        let out = run(&stack.sb, args);
        assert!(out.status.success(), "{}", show(&out));
        let err = text(&out.stderr);
        for line in err.lines().filter(|l| l.contains("warning:")) {
            assert_eq!(err.matches(line).count(), 1, "printed twice: {line}\n{err}");
        }
        assert!(err.contains("damaged vault index"), "{err}");
    }
}

// --- item 6: a lost vault index ----------------------------------------------

const VAULT_PASS: &str = "correct horse battery";

fn rp(sb: &Sandbox) -> assert_cmd::Command {
    let mut c = sb.cmd();
    c.env("ROLEPICK_VAULT_PASSPHRASE", VAULT_PASS)
        .env("ROLEPICK_VAULT_SCRYPT_LOG_N", "10");
    c
}

#[test]
fn a_lost_or_damaged_vault_index_does_not_make_the_vault_look_empty() {
    let stack = Stack::start();
    let out = rp(&stack.sb)
        .args(["vault", "import", "primary", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let index = stack.sb.home.join(".local/share/rolepick/vault-index.json");
    assert!(index.exists());
    for (what, damage) in [("missing", None), ("damaged", Some("not json"))] {
        match damage {
            None => std::fs::remove_file(&index).unwrap(),
            Some(t) => std::fs::write(&index, t).unwrap(),
        }
        // Without unlocking: the profiles are there, and no advice to add
        // a key the vault already holds.
        let out = run(&stack.sb, &["list", "--json"]);
        assert!(out.status.success(), "{what}: {}", show(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["profile"].as_str())
            .collect();
        for p in ["admin", "dev", "readonly"] {
            assert!(names.contains(&p), "{what}: {p} listed: {names:?}");
        }
        assert!(!text(&out.stderr).contains("vault add"), "{}", show(&out));
        // The first unlock rebuilds the index.
        let out = rp(&stack.sb)
            .args(exec_true("admin", Some(MFA_CODE)))
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {}", show(&out));
        let rebuilt = std::fs::read_to_string(&index).unwrap();
        assert!(rebuilt.contains("\"primary\""), "{what}: {rebuilt}");
        // Remove the cache so that the next round unlocks again.
        let _ = std::fs::remove_dir_all(&stack.sb.cache);
    }
}
