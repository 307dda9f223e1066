//! IAM Identity Center through the real `rolepick` binary, against the
//! loopback stand-in (`scripts/sso_standin.py`, OIDC + portal) minting role
//! credentials through moto: sign-in by `$BROWSER`, exec of an SSO role and
//! of a role chained from it, the warm path without a portal call, logout,
//! discovery in `list`, and the failures' exit codes. No secret of the
//! sign-in (access token, refresh token, client secret) may appear in a
//! browser's argv, a child's environment, `list --json` or `-v` output.

use crate::support::sso::{http, SsoHome, Standin, ACCOUNT, PROFILE, REGION, ROLE, SESSION};
use crate::support::{self, show, text, Moto};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The sandbox: moto, the stand-in, a HOME with the `corp` session and
/// profile `sso-dev`, and a `$BROWSER` that records its argv and approves.
struct Env {
    _moto: Moto,
    standin: Standin,
    home: SsoHome,
    browser: PathBuf,
    browser_log: PathBuf,
}

impl Env {
    fn new(standin_args: &[&str]) -> Env {
        let moto = Moto::start();
        let standin = Standin::start(Some(&moto.endpoint()), standin_args);
        let home = SsoHome::new(&moto.endpoint(), standin.endpoint());
        let browser = home.root().join("browser");
        let browser_log = home.root().join("browser.log");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                browser_log.display(),
                support::sso::browser().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        Env {
            _moto: moto,
            standin,
            home,
            browser,
            browser_log,
        }
    }

    fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = self
            .home
            .env()
            .into_iter()
            .filter(|(k, _)| k != "BROWSER")
            .collect();
        env.push(("BROWSER".into(), self.browser.clone().into()));
        env.push((
            "ROLEPICK_CACHE_DIR".into(),
            self.home.rolepick_cache().into(),
        ));
        env.push((
            "XDG_CONFIG_HOME".into(),
            self.home.root().join("xdg").into(),
        ));
        env
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rolepick"));
        c.env_clear()
            .envs(self.env())
            .current_dir(self.home.root())
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run rolepick")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rolepick {args:?}:\n{}\n--- stand-in ---\n{}",
            show(&out),
            self.standin.log()
        );
        out
    }

    fn config(&self) -> PathBuf {
        self.home.home.join(".aws/config")
    }

    fn append_config(&self, extra: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.config())
            .unwrap();
        f.write_all(extra.as_bytes()).unwrap();
    }

    /// The session's token file in the AWS CLI cache, parsed.
    fn token(&self) -> Option<serde_json::Value> {
        let path = self
            .home
            .token_dir()
            .join(format!("{}.json", rolepick::sso::cache::cache_key(SESSION)));
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The token's secrets, which must appear nowhere else.
    fn secrets(&self) -> Vec<String> {
        let t = self.token().expect("a token was written");
        ["accessToken", "refreshToken", "clientSecret"]
            .iter()
            .map(|k| {
                t[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {t}"))
                    .to_string()
            })
            .collect()
    }

    fn browser_visits(&self) -> Vec<String> {
        std::fs::read_to_string(&self.browser_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Portal and OIDC calls counted by the stand-in (not the browser).
    fn service_calls(&self) -> u64 {
        self.standin.stats()["counts"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.contains(':') && !k.starts_with("Browser"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum()
    }

    fn role_cache_files(&self) -> Vec<PathBuf> {
        let dir = self.home.rolepick_cache();
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("role-"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn caller_arn(out: &Output) -> String {
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", show(out)))["Arn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_no_secret(what: &str, haystack: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !haystack.contains(s.as_str()),
            "{what} holds a sign-in secret ({}...):\n{haystack}",
            &s[..8.min(s.len())]
        );
    }
}

fn sso_role_arn_prefix() -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_{ROLE}_")
}

#[test]
fn exec_of_an_sso_profile_signs_in_through_the_browser_and_the_child_is_the_sso_role() {
    let e = Env::new(&[]);
    assert!(e.token().is_none());
    let out = e.ok(&["exec", PROFILE, "--", "aws", "sts", "get-caller-identity"]);
    let arn = caller_arn(&out);
    assert!(arn.starts_with(&sso_role_arn_prefix()), "{arn}");
    // The sign-in was shown on stderr and approved in the "browser", once.
    let err = text(&out.stderr);
    let visits = e.browser_visits();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let code = e.standin.requests("Browser")[0]["query"]["user_code"]
        .as_str()
        .expect("the browser visited with a user code")
        .to_string();
    assert!(err.contains("IAM Identity Center sign-in"), "{err}");
    assert!(err.contains(&visits[0]), "the URL on stderr: {err}");
    assert!(
        err.contains(&format!("Code: {code}")),
        "the user code on stderr: {err}"
    );
    // The token is in the AWS CLI's cache, with a refresh token, 0600.
    let t = e.token().unwrap();
    assert!(t["refreshToken"].is_string(), "{t}");
    let mode = std::fs::metadata(
        e.home
            .token_dir()
            .join(format!("{}.json", rolepick::sso::cache::cache_key(SESSION))),
    )
    .unwrap()
    .permissions()
    .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The browser got the URL with the user code, never a token.
    assert_no_secret("the browser's argv", &visits.join("\n"), &e.secrets());
    assert_no_secret("rolepick's stderr", &err, &e.secrets());
}

#[test]
fn a_warm_exec_of_an_sso_role_makes_no_portal_or_oidc_call() {
    let e = Env::new(&[]);
    e.ok(&["exec", PROFILE, "--", "true"]);
    assert_eq!(e.standin.count("GetRoleCredentials:200"), 1);
    e.standin.reset();
    let out = e.ok(&["exec", PROFILE, "--", "aws", "sts", "get-caller-identity"]);
    assert!(caller_arn(&out).starts_with(&sso_role_arn_prefix()));
    assert_eq!(e.service_calls(), 0, "{}", e.standin.stats());
    assert_eq!(e.browser_visits().len(), 1, "no second sign-in");
}

#[test]
fn the_small_program_alone_serves_warm_sso_roles_written_and_discovered() {
    let e = Env::new(&[]);
    // Settled files, so that the full program snapshots them.
    std::thread::sleep(std::time::Duration::from_millis(2_200));
    e.ok(&["exec", PROFILE, "--", "true"]);
    e.ok(&["list"]);
    let discovered = "account-0002/AdministratorAccess";
    e.ok(&["exec", discovered, "--", "true"]);
    e.standin.reset();
    // A copy of the small program alone: it has no full program to become.
    let lone = support::lone_small_program(e.home.root());
    for (profile, account) in [(PROFILE, ACCOUNT), (discovered, "100000000002")] {
        let out = Command::new(&lone)
            .args(["exec", profile, "--", "aws", "sts", "get-caller-identity"])
            .env_clear()
            .envs(e.env())
            .current_dir(e.home.root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{profile}: {}", show(&out));
        assert!(
            caller_arn(&out).starts_with(&format!("arn:aws:sts::{account}:assumed-role/")),
            "{profile}: {}",
            show(&out)
        );
    }
    assert_eq!(e.service_calls(), 0, "{}", e.standin.stats());
    assert_eq!(e.browser_visits().len(), 1, "no second sign-in");
}

#[test]
fn no_sign_in_secret_reaches_the_child_list_json_or_verbose_output() {
    let e = Env::new(&[]);
    let out = e.ok(&["-v", "exec", PROFILE, "--", "env"]);
    let secrets = e.secrets();
    assert_no_secret("the child's environment", &text(&out.stdout), &secrets);
    assert_no_secret("-v output", &text(&out.stderr), &secrets);
    assert!(
        text(&out.stdout).contains("AWS_SESSION_TOKEN="),
        "the child has role credentials: {}",
        show(&out)
    );
    let out = e.ok(&["-v", "list", "--json"]);
    assert_no_secret("list --json", &text(&out.stdout), &secrets);
    assert_no_secret("list -v", &text(&out.stderr), &secrets);
    let out = e.ok(&["-v", "credential-process", PROFILE]);
    assert_no_secret("credential-process -v stderr", &text(&out.stderr), &secrets);
}

#[test]
fn a_role_chained_from_an_sso_profile_is_assumed_with_its_credentials() {
    let e = Env::new(&[]);
    e.append_config(&format!(
        "\n[profile chained]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/chained-target\nsource_profile = {PROFILE}\nregion = eu-west-1\n"
    ));
    let out = e.ok(&["exec", "chained", "--", "aws", "sts", "get-caller-identity"]);
    let arn = caller_arn(&out);
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/chained-target/"
        )),
        "{arn}"
    );
    assert_eq!(e.standin.count("GetRoleCredentials:200"), 1);
}

/// Issue #25, item 4: the README's `[profile deploy]` chained from
/// `sso-dev` with no `region` of its own had none (an empty AWS_REGION, and
/// the aws CLI failing "You must specify a region").
#[test]
fn a_role_chained_from_an_sso_profile_without_a_region_takes_the_sso_profiles() {
    let e = Env::new(&[]);
    e.append_config(&format!(
        "\n[profile deploy]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/chained-target\nsource_profile = {PROFILE}\n"
    ));
    let out = e.ok(&["exec", "deploy", "--", "env"]);
    let env = support::parse_env_lines(&text(&out.stdout));
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some(REGION));
    assert_eq!(
        env.get("AWS_DEFAULT_REGION").map(String::as_str),
        Some(REGION)
    );
    let out = e.ok(&["exec", "deploy", "--", "aws", "sts", "get-caller-identity"]);
    assert!(caller_arn(&out).contains(":assumed-role/chained-target/"));
    // Without a region on the SSO profile either, its session's sso_region.
    let config = std::fs::read_to_string(e.config()).unwrap();
    std::fs::write(
        e.config(),
        config.replacen(
            &format!("sso_role_name = {ROLE}\nregion = {REGION}\n"),
            &format!("sso_role_name = {ROLE}\n"),
            1,
        ),
    )
    .unwrap();
    assert!(!std::fs::read_to_string(e.config())
        .unwrap()
        .contains("\nregion ="));
    let out = e.ok(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deploy = rows
        .as_array()
        .and_then(|a| a.iter().find(|r| r["profile"] == "deploy"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(deploy["region"], REGION, "{rows}");
}

#[test]
fn logout_ends_the_session_and_removes_the_token_and_its_role_credentials() {
    let e = Env::new(&[]);
    e.ok(&["exec", PROFILE, "--", "true"]);
    assert!(e.token().is_some());
    assert_eq!(e.role_cache_files().len(), 1);
    let out = e.ok(&["sso", "logout"]);
    assert!(text(&out.stderr).contains("signed out"), "{}", show(&out));
    assert_eq!(e.standin.count("Logout:200"), 1);
    assert!(e.token().is_none(), "token removed");
    assert!(e.role_cache_files().is_empty(), "role credentials removed");
}

#[test]
fn login_signs_in_once_and_list_shows_every_discovered_role_without_a_second_portal_call() {
    let e = Env::new(&[]);
    let out = e.ok(&["sso", "login", SESSION]);
    assert!(text(&out.stderr).contains("signed in"), "{}", show(&out));
    assert_eq!(e.browser_visits().len(), 1);
    let out = e.ok(&["sso", "login"]);
    assert!(
        text(&out.stderr).contains("already signed in"),
        "{}",
        show(&out)
    );
    assert_eq!(e.browser_visits().len(), 1, "no second sign-in");

    let out = e.ok(&["list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let find = |name: &str| rows.iter().find(|r| r["profile"] == name).cloned();
    let admin = find("account-0000/AdministratorAccess")
        .unwrap_or_else(|| panic!("discovered role listed: {rows:#?}"));
    assert_eq!(admin["account_id"], "100000000000");
    assert_eq!(admin["account_name"], "account-0000");
    assert_eq!(admin["role"], "AdministratorAccess");
    assert_eq!(admin["source"], SESSION);
    // The user's own profile wins: not listed twice, named after the account.
    assert!(find("account-0001/ReadOnlyAccess").is_none(), "{rows:#?}");
    let mine = find(PROFILE).unwrap();
    assert_eq!(mine["account_name"], "account-0001");
    assert_eq!(mine["role"], ROLE);
    assert_eq!(rows.len(), 6, "{rows:#?}");
    assert_eq!(e.standin.count("ListAccounts"), 1);
    assert_eq!(e.standin.count("ListAccountRoles"), 3);

    // A second list: from rolepick's cache, no portal call.
    let before = e.service_calls();
    let out = e.ok(&["list"]);
    assert!(
        text(&out.stdout).contains("account-0002/ReadOnlyAccess"),
        "{}",
        show(&out)
    );
    assert_eq!(e.service_calls(), before, "{}", e.standin.stats());

    // A discovered name runs like any profile.
    let out = e.ok(&[
        "exec",
        "account-0002/AdministratorAccess",
        "--",
        "aws",
        "sts",
        "get-caller-identity",
    ]);
    assert!(
        caller_arn(&out).starts_with(
            "arn:aws:sts::100000000002:assumed-role/AWSReservedSSO_AdministratorAccess_"
        ),
        "{}",
        show(&out)
    );

    // sync asks the portal again.
    let out = e.ok(&["sso", "sync"]);
    assert!(
        text(&out.stderr).contains("session \"corp\": 3 accounts, 6 roles"),
        "{}",
        show(&out)
    );
    assert_eq!(e.standin.count("ListAccounts"), 2);
}

#[test]
fn login_with_no_browser_prints_the_url_and_code_and_opens_nothing() {
    let e = Env::new(&[]);
    let mut child = e
        .cmd()
        .args(["sso", "login", "--no-browser"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no URL on stderr: {seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(u) = line.trim().strip_prefix("URL:") {
            break u.trim().to_string();
        }
    };
    let code_line = lines.next().unwrap().unwrap();
    assert!(code_line.contains("Code:"), "{code_line}");
    assert!(
        url.contains(code_line.split_whitespace().nth(1).unwrap()),
        "{url} / {code_line}"
    );
    // The user approves in a browser of their own.
    let (status, body) = http(&url, "GET", "", "");
    assert_eq!(status, 200, "{body}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let st = child.wait().unwrap();
    assert!(st.success(), "{seen}{}", rest.join("\n"));
    assert!(
        e.browser_visits().is_empty(),
        "--no-browser opened a browser"
    );
    assert!(e.token().is_some());
}

#[test]
fn denied_in_the_browser_exits_3_and_writes_no_token() {
    let e = Env::new(&[]);
    e.standin.control(r#"{"on_visit": "deny"}"#);
    let out = e.run(&["exec", PROFILE, "--", "true"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(text(&out.stderr).contains("denied"), "{}", show(&out));
    assert!(e.token().is_none());
}

#[test]
fn an_unreachable_identity_center_exits_4() {
    let e = Env::new(&[]);
    let dead = format!("http://127.0.0.1:{}", support::closed_port());
    let out = e
        .cmd()
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &dead)
        .env("AWS_ENDPOINT_URL_SSO", &dead)
        .args(["exec", PROFILE, "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    assert!(text(&out.stderr).contains("cannot reach"), "{}", show(&out));
}

#[test]
fn a_role_the_user_cannot_reach_exits_3_naming_account_and_role() {
    let e = Env::new(&[]);
    e.append_config(&format!(
        "\n[profile nope]\nsso_session = {SESSION}\nsso_account_id = {ACCOUNT}\nsso_role_name = NoSuchRole\n"
    ));
    let out = e.run(&["exec", "nope", "--", "true"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains(ACCOUNT) && err.contains("NoSuchRole"), "{err}");
}

#[test]
fn a_401_from_the_portal_gets_a_new_token_by_refresh_without_a_sign_in() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    e.standin.control(r#"{"revoke": true}"#);
    let out = e.ok(&["exec", PROFILE, "--", "true"]);
    assert_eq!(
        e.standin.count("GetRoleCredentials:401"),
        1,
        "{}",
        show(&out)
    );
    assert_eq!(e.standin.count("GetRoleCredentials:200"), 1);
    assert_eq!(
        e.standin.count("StartDeviceAuthorization"),
        1,
        "one sign-in only"
    );
    assert_eq!(e.browser_visits().len(), 1);
}

#[test]
fn a_429_from_the_portal_backs_off_and_never_signs_in_again() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    e.standin
        .control(r#"{"fail_next": {"op": "GetRoleCredentials", "status": 429, "count": 2}}"#);
    e.ok(&["exec", PROFILE, "--", "true"]);
    assert_eq!(e.standin.count("GetRoleCredentials:429"), 2);
    assert_eq!(e.standin.count("GetRoleCredentials:200"), 1);
    assert_eq!(e.standin.count("StartDeviceAuthorization"), 1);
}

fn bad_config(e: &Env, config: &str, expect_line: usize, quoted: &str) {
    std::fs::write(e.config(), config).unwrap();
    let out = e.run(&["exec", "bad", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    let at = format!("{}:{expect_line}", e.config().display());
    assert!(err.contains(&at), "names {at}: {err}");
    assert!(err.contains(quoted), "quotes {quoted}: {err}");
}

#[test]
fn malformed_sso_configuration_exits_2_naming_file_line_and_quoting_the_value() {
    let e = Env::new(&[]);
    bad_config(
        &e,
        "[profile bad]\nsso_session = corp\nsso_account_id = 12345\nsso_role_name = Admin\n\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\n",
        3,
        "\"12345\"",
    );
    bad_config(
        &e,
        "[profile bad]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\n\n[sso-session corp]\nsso_start_url = not a url\nsso_region = eu-west-1\n",
        7,
        "\"not a url\"",
    );
    bad_config(
        &e,
        "[profile bad]\nsso_session = nowhere\nsso_account_id = 111122223333\nsso_role_name = Admin\n",
        2,
        "\"nowhere\"",
    );
    bad_config(
        &e,
        "[profile bad]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = moon-1\nsso_account_id = 111122223333\nsso_role_name = Admin\n",
        3,
        "\"moon-1\"",
    );
}

#[test]
fn a_legacy_inline_sso_profile_uses_the_start_url_cache_entry() {
    let e = Env::new(&[]);
    std::fs::write(
        e.config(),
        format!(
            "[profile legacy]\nsso_start_url = {}\nsso_region = eu-west-1\nsso_account_id = {ACCOUNT}\nsso_role_name = {ROLE}\nregion = eu-west-1\n",
            support::sso::START_URL
        ),
    )
    .unwrap();
    let out = e.ok(&["exec", "legacy", "--", "aws", "sts", "get-caller-identity"]);
    assert!(caller_arn(&out).starts_with(&sso_role_arn_prefix()));
    let legacy = e.home.token_dir().join(format!(
        "{}.json",
        rolepick::sso::cache::cache_key(support::sso::START_URL)
    ));
    assert!(legacy.exists(), "token cached under sha1(start URL)");
}

#[test]
fn an_sso_source_in_config_toml_runs_its_account_roles() {
    let e = Env::new(&[]);
    std::fs::write(e.config(), "").unwrap();
    let dir = e.home.root().join("xdg/rolepick");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[[source]]\nname = \"{SESSION}\"\nsso_start_url = \"{}\"\nsso_region = \"eu-west-1\"\n\n[[account]]\nname = \"dev\"\nid = \"{ACCOUNT}\"\nsource = \"{SESSION}\"\nroles = [\"{ROLE}\"]\n",
            support::sso::START_URL
        ),
    )
    .unwrap();
    let out = e.ok(&[
        "exec",
        &format!("dev-{ROLE}"),
        "--",
        "aws",
        "sts",
        "get-caller-identity",
    ]);
    assert!(caller_arn(&out).starts_with(&sso_role_arn_prefix()));
}

#[test]
fn six_processes_needing_a_token_at_once_open_one_browser_tab() {
    let e = Env::new(&[]);
    let children: Vec<std::process::Child> = (0..6)
        .map(|_| {
            e.cmd()
                .args(["exec", PROFILE, "--", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
    }
    assert_eq!(e.browser_visits().len(), 1, "one browser tab");
    assert_eq!(e.standin.count("StartDeviceAuthorization"), 1);
    assert_eq!(
        e.standin.count("GetRoleCredentials:200"),
        1,
        "the others found the role credentials cached"
    );
}

#[test]
fn list_asks_the_portal_again_once_the_discovery_ttl_has_passed() {
    let e = Env::new(&[]);
    let dir = e.home.root().join("xdg/rolepick");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[settings]\nsso_discovery_ttl = \"2s\"\n",
    )
    .unwrap();
    e.ok(&["sso", "login"]);
    e.ok(&["list"]);
    e.ok(&["list"]);
    assert_eq!(e.standin.count("ListAccounts"), 1, "fresh: from the cache");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = e.ok(&["list", "--json"]);
    assert_eq!(e.standin.count("ListAccounts"), 2, "stale: listed again");
    assert!(text(&out.stdout).contains("account-0000/AdministratorAccess"));
}

#[test]
fn list_without_a_token_shows_the_configured_profiles_and_says_how_to_sign_in() {
    let e = Env::new(&[]);
    let out = e.ok(&["list"]);
    assert!(text(&out.stdout).contains(PROFILE), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("rolepick sso login corp"),
        "{}",
        show(&out)
    );
    assert_eq!(e.service_calls(), 0, "list never signs in");
    assert!(e.browser_visits().is_empty());
}

#[test]
fn a_server_shell_of_an_sso_role_gets_its_credentials_from_the_loopback_endpoint() {
    let e = Env::new(&[]);
    let out = e.ok(&[
        "exec",
        PROFILE,
        "--server",
        "--",
        "sh",
        "-c",
        "env | grep -c '^AWS_ACCESS_KEY_ID=' ; aws sts get-caller-identity",
    ]);
    let stdout = text(&out.stdout);
    let (count, json) = stdout.split_once('\n').unwrap();
    assert_eq!(count.trim(), "0", "no static keys with --server: {stdout}");
    let arn = serde_json::from_str::<serde_json::Value>(json).unwrap()["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(arn.starts_with(&sso_role_arn_prefix()), "{arn}");
}

#[test]
fn the_endpoint_of_a_server_shell_signs_in_again_by_itself_when_the_token_is_gone() {
    // Role credentials that are always within the refresh window, so every
    // request to the endpoint asks the portal, with the session's token.
    let e = Env::new(&["--role-ttl", "240"]);
    let token_dir = e.home.token_dir();
    let script = format!(
        "aws sts get-caller-identity --query Arn --output text && \
         rm -f '{dir}'/*.json && \
         aws sts get-caller-identity --query Arn --output text",
        dir = token_dir.display()
    );
    let out = e.ok(&["exec", PROFILE, "--server", "--", "sh", "-c", &script]);
    let stdout = text(&out.stdout);
    let arns: Vec<&str> = stdout.lines().collect();
    assert_eq!(arns.len(), 2, "{}", show(&out));
    for arn in &arns {
        assert!(arn.starts_with(&sso_role_arn_prefix()), "{arn}");
    }
    // The first sign-in by exec, the second by the endpoint on its own
    // (no terminal: the approval happens in the browser).
    assert_eq!(
        e.standin.count("StartDeviceAuthorization"),
        2,
        "{}",
        show(&out)
    );
    assert_eq!(e.browser_visits().len(), 2, "{:?}", e.browser_visits());
    assert!(e.token().is_some(), "the new token is in the AWS CLI cache");
}

#[test]
fn login_on_a_terminal_draws_a_qr_code_of_the_url_and_not_in_a_pipe() {
    let e = Env::new(&[]);
    // `script` gives rolepick a pseudo-terminal as stderr.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        support::missing_prerequisite("script (util-linux)");
        return;
    }
    let rolepick = env!("CARGO_BIN_EXE_rolepick");
    let out = Command::new("sh")
        .env_clear()
        .envs(e.env())
        .env("TERM", "xterm")
        .current_dir(e.home.root())
        .stdin(Stdio::null())
        .args([
            "-c",
            &format!("script -qec '{rolepick} sso login' /dev/null"),
        ])
        .output()
        .expect("script");
    assert!(out.status.success(), "{}", show(&out));
    let tty = text(&out.stdout);
    assert!(tty.contains("/device?user_code="), "{tty}");
    let qr_rows = tty
        .lines()
        .filter(|l| l.contains('▀') || l.contains('▄') || l.contains('█'))
        .count();
    assert!(
        qr_rows >= 10,
        "a QR code of the URL on the terminal:\n{tty}"
    );

    // In a pipe: the URL and the code, no QR code.
    e.ok(&["sso", "logout"]);
    let piped = e.ok(&["sso", "login"]);
    let err = text(&piped.stderr);
    assert!(err.contains("/device?user_code="), "{err}");
    assert!(!err.contains('▀') && !err.contains('█'), "{err}");
}

impl Env {
    /// The session's token file in the AWS CLI cache.
    fn token_path(&self) -> PathBuf {
        self.home
            .token_dir()
            .join(format!("{}.json", rolepick::sso::cache::cache_key(SESSION)))
    }

    /// Rewrites the cached token's `expiresAt` to `secs` from now (negative: past).
    fn token_expires_in(&self, secs: i64) {
        let mut t = self.token().expect("a token");
        let at = std::time::SystemTime::now()
            .checked_add(std::time::Duration::from_secs(secs.max(0).unsigned_abs()))
            .and_then(|t| t.checked_sub(std::time::Duration::from_secs(secs.min(0).unsigned_abs())))
            .unwrap();
        t["expiresAt"] = humantime::format_rfc3339_seconds(at).to_string().into();
        std::fs::write(self.token_path(), t.to_string()).unwrap();
    }

    /// rolepick `args` with the given directories on small disks (see
    /// [`support::on_small_disks`]); None where that cannot be done.
    fn run_on_small_disks(
        &self,
        mounts: &[(&std::path::Path, support::SmallDisk)],
        args: &[&str],
    ) -> Option<Output> {
        let mut argv: Vec<OsString> = vec![env!("CARGO_BIN_EXE_rolepick").into()];
        argv.extend(args.iter().map(OsString::from));
        let mut c = support::on_small_disks(mounts, &argv)?;
        Some(
            c.env_clear()
                .envs(self.env())
                .current_dir(self.home.root())
                .stdin(Stdio::null())
                .output()
                .expect("run rolepick in a mount namespace"),
        )
    }
}

fn refresh_grants(e: &Env) -> usize {
    e.standin
        .requests("CreateToken")
        .iter()
        .filter(|r| r["grant"] == "refresh_token")
        .count()
}

#[test]
fn a_refreshed_token_the_cache_cannot_hold_serves_the_run_and_says_why() {
    let e = Env::new(&[]);
    // Expired: nothing but the refresh can serve. Due (5 minutes left):
    // the old token could serve, but the refresh spends its refresh token.
    for (left, what) in [(-60, "expired"), (300, "due")] {
        // A fresh sign-in each turn: the last turn's refresh token is spent.
        let _ = std::fs::remove_file(e.token_path());
        e.ok(&["sso", "login"]);
        let sign_ins = e.standin.count("StartDeviceAuthorization");
        e.token_expires_in(left);
        let before = refresh_grants(&e);
        let dir = e.home.token_dir();
        let Some(out) = e.run_on_small_disks(
            &[(&dir, support::SmallDisk::ReadOnly)],
            &["exec", PROFILE, "--", "aws", "sts", "get-caller-identity"],
        ) else {
            return;
        };
        assert!(out.status.success(), "{what}: {}", show(&out));
        assert!(
            caller_arn(&out).starts_with(&sso_role_arn_prefix()),
            "{what}"
        );
        assert_eq!(refresh_grants(&e), before + 1, "{what}: refreshed once");
        let err = text(&out.stderr);
        assert!(
            err.contains("IAM Identity Center token of session \"corp\" could not be saved")
                && err.contains("Read-only file system")
                && err.contains("rolepick sso login corp"),
            "{what}: {err}"
        );
        assert_eq!(
            err.matches("could not be saved").count(),
            1,
            "{what}: {err}"
        );
        assert_eq!(
            e.standin.count("StartDeviceAuthorization"),
            sign_ins,
            "{what}: no sign-in"
        );
        // The role credentials went to rolepick's cache: drop them so that
        // the next turn needs the token again.
        for f in e.role_cache_files() {
            std::fs::remove_file(f).unwrap();
        }
    }
}

#[test]
fn credentials_and_a_token_that_do_not_fit_on_a_full_disk_serve_the_run_and_say_why() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    e.token_expires_in(-60);
    let tokens = e.home.token_dir();
    let cache = e.home.rolepick_cache();
    std::fs::create_dir_all(&cache).unwrap();
    let Some(out) = e.run_on_small_disks(
        &[
            (&tokens, support::SmallDisk::Full),
            (&cache, support::SmallDisk::Full),
        ],
        &["exec", PROFILE, "--", "aws", "sts", "get-caller-identity"],
    ) else {
        return;
    };
    assert!(out.status.success(), "{}", show(&out));
    assert!(caller_arn(&out).starts_with(&sso_role_arn_prefix()));
    let err = text(&out.stderr);
    assert!(
        err.contains("refreshed IAM Identity Center token of session \"corp\" could not be saved"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "temporary credentials of profile \"{PROFILE}\" could not be saved"
        )),
        "{err}"
    );
    assert_eq!(err.matches("No space left on device").count(), 2, "{err}");
    assert_eq!(e.standin.count("StartDeviceAuthorization"), 1);
}

#[test]
fn a_registration_identity_center_forgot_is_replaced_and_signed_in_once() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    let old_client = e.token().unwrap()["clientId"].clone();
    e.token_expires_in(-60);
    e.standin.control(r#"{"forget_clients": true}"#);
    let out = e.ok(&["exec", PROFILE, "--", "aws", "sts", "get-caller-identity"]);
    assert!(caller_arn(&out).starts_with(&sso_role_arn_prefix()));
    let refused: Vec<_> = e
        .standin
        .requests("CreateToken")
        .into_iter()
        .filter(|r| r["error"] == "InvalidClientException")
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "the refresh was refused as invalid_client"
    );
    assert_eq!(e.standin.count("RegisterClient"), 2, "registered anew");
    assert_eq!(e.standin.count("StartDeviceAuthorization:200"), 2);
    assert_eq!(e.browser_visits().len(), 2, "one more sign-in, once");
    assert_ne!(e.token().unwrap()["clientId"], old_client);
}

#[test]
fn a_signed_out_exec_with_no_terminal_and_no_browser_fails_at_once_with_exit_3() {
    let e = Env::new(&[]);
    let cases: [(&str, Vec<(&str, OsString)>); 2] = [
        // An opener that fails (as xdg-open does with nothing to open with).
        ("failing opener", vec![("BROWSER", "false".into())]),
        // An SSH session without a forwarded display: no browser at all.
        (
            "ssh, no display",
            vec![("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22".into())],
        ),
    ];
    for (what, vars) in cases {
        let mut child = e
            .cmd()
            .envs(vars)
            .args(["exec", PROFILE, "--", "true"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Waits out a hang (the device code lives 600 s) for a minute at most.
        let mut status = None;
        for _ in 0..600 {
            if let Some(s) = child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if status.is_none() {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        assert!(status.is_some(), "{what}: still waiting: {}", show(&out));
        assert_eq!(out.status.code(), Some(3), "{what}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(err.contains("rolepick sso login corp"), "{what}: {err}");
        assert!(
            !err.contains("A browser window is opening"),
            "{what}: {err}"
        );
        assert!(e.token().is_none());
    }
    assert_eq!(e.standin.count("CreateToken"), 0, "nobody polled");
}

#[test]
fn a_damaged_or_shared_account_listing_is_said_once_with_the_command_that_rebuilds_it() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    e.ok(&["sso", "sync"]);
    let listing = std::fs::read_dir(e.home.rolepick_cache())
        .unwrap()
        .map(|d| d.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sso-accounts-")
        })
        .expect("a listing");
    let good = std::fs::read(&listing).unwrap();
    let discovered = "account-0002/AdministratorAccess";
    e.ok(&["exec", discovered, "--", "true"]);
    for (what, damage) in [
        (
            "damaged",
            Box::new(|p: &std::path::Path| std::fs::write(p, "{\"version\": 1, \"start_u").unwrap())
                as Box<dyn Fn(&std::path::Path)>,
        ),
        (
            "0644",
            Box::new(|p: &std::path::Path| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap()
            }),
        ),
    ] {
        std::fs::write(&listing, &good).unwrap();
        std::fs::set_permissions(&listing, std::fs::Permissions::from_mode(0o600)).unwrap();
        damage(&listing);
        let out = e.run(&["exec", discovered, "--", "true"]);
        assert!(!out.status.success(), "{what}: {}", show(&out));
        let err = text(&out.stderr);
        assert_eq!(
            err.matches("rolepick sso sync corp").count(),
            1,
            "{what}: said once, with the fix: {err}"
        );
        assert!(
            err.contains(&listing.display().to_string()),
            "{what}: {err}"
        );
        // sync rebuilds it, and the discovered role runs again.
        e.ok(&["sso", "sync"]);
        let out = e.ok(&["exec", discovered, "--", "true"]);
        assert!(!text(&out.stderr).contains("unusable"), "{}", show(&out));
    }
}

#[test]
fn a_read_only_rolepick_cache_stops_with_exit_1_before_spending_the_refresh_token() {
    let e = Env::new(&[]);
    e.ok(&["sso", "login"]);
    e.token_expires_in(-60);
    let cache = e.home.rolepick_cache();
    std::fs::create_dir_all(&cache).unwrap();
    let Some(out) = e.run_on_small_disks(
        &[(&cache, support::SmallDisk::ReadOnly)],
        &["exec", PROFILE, "--", "true"],
    ) else {
        return;
    };
    // Its locks cannot be taken: the run cannot go on. A file I/O error
    // (1), never "cannot reach" (4), and the refresh token is not spent.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&cache.display().to_string()) && err.contains("Read-only file system"),
        "{err}"
    );
    assert_eq!(refresh_grants(&e), 0);
}
