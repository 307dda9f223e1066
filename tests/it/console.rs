//! `rolepick console`: against moto (STS, through the recording proxy) and
//! a loopback stand-in of the AWS federation endpoint
//! (`scripts/federation_standin.py`), with a fake `$BROWSER`
//! (`tests/fake_browser.py`) that records its argv, keeps a copy of the
//! page it was given, looks for the sign-in token in every process's argv,
//! and follows the page's redirect like a browser.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{show, text, Federation, Stack, MFA_CODE};

fn console(stack: &Stack, fed_endpoint: &str, args: &[&str]) -> Output {
    stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed_endpoint)
        .arg("console")
        .args(args)
        .output()
        .unwrap()
}

/// The query parameters of `url`, decoded.
fn params(url: &str) -> std::collections::HashMap<String, String> {
    let (_, q) = url.split_once('?').expect("a query");
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The cached role credentials of `profile`, as the cache file has them.
fn cached_role(stack: &Stack, profile: &str) -> serde_json::Value {
    let path = stack.sb.role_cache_file(profile);
    serde_json::from_str(&fs::read_to_string(&path).expect("cached role credentials")).unwrap()
}

#[test]
fn print_signs_in_with_the_roles_own_credentials_and_lands_in_its_region() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let out = console(
        &stack,
        &fed.endpoint(),
        &["dev", "--print", "--mfa-code", MFA_CODE],
    );
    assert!(out.status.success(), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "the URL alone:\n{stdout}");
    let url = stdout.trim_end();
    assert!(url.starts_with(&format!("{}?", fed.endpoint())), "{url}");

    // The Session sent is the role's own credentials, as AssumeRole gave
    // them (and as `exec` would use them): not the user's key, not the
    // MFA session's.
    let asked = fed.requests_for("getSigninToken");
    assert_eq!(asked.len(), 1, "{asked:?}");
    let session = &asked[0]["session"];
    let role = cached_role(&stack, "dev");
    assert_eq!(session["sessionId"], role["access_key_id"]);
    assert_eq!(session["sessionKey"], role["secret_access_key"]);
    assert_eq!(session["sessionToken"], role["session_token"]);
    assert_ne!(session["sessionId"], stack.prov.access_key_id.as_str());
    let env = stack
        .sb
        .cmd()
        .args(["env", "dev", "--format", "json"])
        .output()
        .unwrap();
    let env: serde_json::Value = serde_json::from_slice(&env.stdout).unwrap();
    assert_eq!(session["sessionId"], env["AWS_ACCESS_KEY_ID"]);
    assert_eq!(stack.proxy.count("AssumeRole"), 1);
    assert_eq!(stack.proxy.count("GetFederationToken"), 0);

    // The login URL: issuer, the profile's region, the token issued.
    let p = params(url);
    assert_eq!(p["Action"], "login");
    assert_eq!(p["Issuer"], "rolepick");
    let region = &stack.prov.region;
    assert_eq!(
        p["Destination"],
        format!("https://{region}.console.aws.amazon.com/console/home?region={region}")
    );
    assert_eq!(p["SigninToken"], asked[0]["token"].as_str().unwrap());
    assert!(!text(&out.stderr).contains(&p["SigninToken"]));
}

#[test]
fn destination_and_region_options_choose_where_the_browser_lands() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let dest = |args: &[&str]| {
        let mut all = vec!["dev", "--print", "--mfa-code", MFA_CODE];
        all.extend(args);
        let out = console(&stack, &fed.endpoint(), &all);
        assert!(out.status.success(), "{}", show(&out));
        params(text(&out.stdout).trim_end())["Destination"].clone()
    };
    assert_eq!(
        dest(&["--destination", "s3", "--region", "eu-west-3"]),
        "https://eu-west-3.console.aws.amazon.com/s3/home?region=eu-west-3"
    );
    let lambda = "https://us-east-2.console.aws.amazon.com/lambda/home?region=us-east-2#/functions";
    assert_eq!(dest(&["--destination", lambda]), lambda);

    // Not the console: refused before anything is asked of AWS.
    let calls = stack.proxy.total();
    for bad in [
        "https://evil.example/phish",
        "http://console.aws.amazon.com/s3/home",
        "S3!",
    ] {
        let out = console(
            &stack,
            &fed.endpoint(),
            &["dev", "--print", "--destination", bad],
        );
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(
            text(&out.stderr).contains(&format!("{bad:?}")),
            "{}",
            show(&out)
        );
    }
    assert_eq!(
        stack.proxy.total(),
        calls,
        "no AWS call for a bad destination"
    );
}

fn fake_browser_env(dir: &Path) -> [(&'static str, String); 2] {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_browser.py");
    [
        ("BROWSER", format!("python3 {}", script.display())),
        ("FAKE_BROWSER_DIR", dir.display().to_string()),
    ]
}

#[test]
fn the_browser_gets_a_one_time_page_that_leads_to_the_url_and_then_goes() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let seen = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .envs(fake_browser_env(seen.path()))
        .args(["console", "dev", "--mfa-code", MFA_CODE])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout:\n{}", show(&out));
    assert!(
        text(&out.stderr).contains("opened the AWS console for dev"),
        "{}",
        show(&out)
    );
    let token = fed.requests_for("getSigninToken")[0]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // The browser's argv: one file:// URL of a page in the private cache
    // dir; no token, no sign-in URL there or in any process's argv.
    let argv: Vec<String> =
        serde_json::from_str(&fs::read_to_string(seen.path().join("argv.json")).unwrap()).unwrap();
    assert_eq!(argv.len(), 1, "{argv:?}");
    let page = argv[0].strip_prefix("file://").expect("a file:// URL");
    assert!(
        Path::new(page).starts_with(&stack.sb.cache),
        "{page} is in {}",
        stack.sb.cache.display()
    );
    assert!(!argv[0].contains(&token));
    let leak: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(seen.path().join("leak.json")).unwrap()).unwrap();
    assert_eq!(leak["token_found_in_page"], true, "{leak}");
    assert_eq!(leak["argv_pids"], serde_json::json!([]), "{leak}");
    assert!(!text(&out.stderr).contains(&token));

    // The page led the browser to the sign-in URL: the stand-in saw the
    // login with the token it issued, landing on the console home.
    let logins = fed.requests_for("login");
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["params"]["SigninToken"], token.as_str());
    assert_eq!(logins[0]["params"]["Issuer"], "rolepick");
    let followed = fs::read_to_string(seen.path().join("followed.txt")).unwrap();
    assert!(followed.starts_with("200 "), "{followed}");
    let html = fs::read_to_string(seen.path().join("page.html")).unwrap();
    assert!(html.contains("window.location.replace("), "{html}");

    // ... and it is gone: rolepick removed it before exiting, 10 s on.
    assert!(!Path::new(page).exists(), "the page is removed");
    assert!(started.elapsed() >= Duration::from_secs(10));
    let left: Vec<_> = stack
        .sb
        .cache_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("console-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_browser_command_that_fails_is_reported_and_the_page_removed() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("BROWSER", "false")
        .args(["console", "dev", "--mfa-code", MFA_CODE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(text(&out.stderr).contains("--print"), "{}", show(&out));
    // A browser that is not there: named, exit 127 as for a missing command.
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("BROWSER", "no-such-browser-here --new-window")
        .args(["console", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("(\"no-such-browser-here\"): command not found"),
        "{err}"
    );
    assert!(
        err.starts_with("rolepick: No browser for dev: `rolepick console dev --print`")
            || err.contains("No browser for dev: `rolepick console dev --print`"),
        "the profile named in the hint, first: {err}"
    );
    let pages: Vec<_> = stack
        .sb
        .cache_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("console-"))
        .collect();
    assert!(pages.is_empty(), "{pages:?}");
}

/// Issue #25: on a headless machine (no DISPLAY, no WAYLAND_DISPLAY, no
/// BROWSER) `console` ran xdg-open, which filled the terminal with text
/// browsers' "not found". It now says what to run instead, before any
/// credential is fetched (no MFA code asked, no federation call), exit 127.
#[test]
fn a_headless_machine_gets_the_print_hint_instead_of_xdg_open() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let bin = stack.sb.root().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // An xdg-open that says it ran: it must not.
    let ran = stack.sb.root().join("xdg-open-ran");
    std::fs::write(
        bin.join("xdg-open"),
        format!(
            "#!/bin/sh\ntouch '{}'\necho 'xdg-open: no method available' >&2\nexit 3\n",
            ran.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("xdg-open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("PATH", &path)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["console", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("No browser for dev: `rolepick console dev --print`")
            && err.contains("DISPLAY and WAYLAND_DISPLAY are unset"),
        "{err}"
    );
    assert!(!ran.exists(), "xdg-open was run");
    assert!(!err.contains("no method available"), "{err}");
    assert!(fed.requests_for("getSigninToken").is_empty());
    // What is wrong with the request itself still comes first.
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("PATH", &path)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .args(["console", "primary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    // With a display, the platform's opener is used (and its failure said).
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("PATH", &path)
        .env("DISPLAY", ":0")
        .args(["console", "dev", "--mfa-code", MFA_CODE])
        .output()
        .unwrap();
    assert!(ran.exists(), "xdg-open with a display: {}", show(&out));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // `--print` needs no browser.
    let out = stack
        .sb
        .cmd()
        .env("ROLEPICK_SIGNIN_ENDPOINT", fed.endpoint())
        .env("PATH", &path)
        .args(["console", "dev", "--print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn a_refusing_federation_endpoint_exits_3_saying_what_to_check() {
    for mode in ["refuse", "no-token"] {
        let stack = Stack::start();
        let fed = Federation::start(mode);
        let out = console(
            &stack,
            &fed.endpoint(),
            &["dev", "--print", "--mfa-code", MFA_CODE],
        );
        assert_eq!(out.status.code(), Some(3), "{mode}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(err.contains("refused the role credentials"), "{err}");
        assert!(err.contains(&fed.endpoint()), "{err}");
        assert!(err.contains("ROLEPICK_SIGNIN_ENDPOINT"), "{err}");
        assert!(out.stdout.is_empty());
        let role = cached_role(&stack, "dev");
        for secret in ["secret_access_key", "session_token"] {
            assert!(!err.contains(role[secret].as_str().unwrap()), "{err}");
        }
    }
}

#[test]
fn an_unreachable_federation_endpoint_exits_4() {
    let stack = Stack::start();
    let endpoint = format!(
        "http://127.0.0.1:{}/federation",
        crate::support::closed_port()
    );
    let out = console(
        &stack,
        &endpoint,
        &["dev", "--print", "--mfa-code", MFA_CODE],
    );
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot reach the AWS federation endpoint {endpoint}"
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_session_profile_or_an_unknown_one_exits_2_before_any_call() {
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let out = console(
        &stack,
        &fed.endpoint(),
        &["primary", "--print", "--mfa-code", MFA_CODE],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("console sign-in needs a role"), "{err}");
    assert!(err.contains("\"primary\""), "{err}");

    let out = console(&stack, &fed.endpoint(), &["nosuch", "--print"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("unknown profile \"nosuch\""),
        "{}",
        show(&out)
    );

    assert_eq!(stack.proxy.total(), 0, "no STS call");
    assert!(fed.requests().is_empty(), "no federation call");
}

#[test]
fn an_https_endpoint_is_spoken_to_over_tls() {
    // The stand-in speaks plain HTTP: an https:// endpoint there fails in
    // the TLS handshake (so TLS is really attempted), as unreachable.
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let endpoint = fed.endpoint().replace("http://", "https://");
    let out = console(
        &stack,
        &endpoint,
        &["dev", "--print", "--mfa-code", MFA_CODE],
    );
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(&format!(
            "cannot reach the AWS federation endpoint {endpoint}"
        )),
        "{}",
        show(&out)
    );
    assert!(
        fed.requests().is_empty(),
        "nothing was sent in the clear: {:?}",
        fed.requests()
    );
}

#[test]
fn every_console_run_sweeps_pages_left_behind_print_included() {
    use std::os::unix::fs::DirBuilderExt;
    use std::time::SystemTime;
    let stack = Stack::start();
    let fed = Federation::start("ok");
    let cache = &stack.sb.cache;
    fs::DirBuilder::new().mode(0o700).create(cache).unwrap();
    let now = SystemTime::now();
    let page = |name: &str, at: SystemTime| {
        let p = cache.join(name);
        fs::write(&p, "<html>left behind</html>").unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(at)
            .unwrap();
        p
    };
    // Left by a run killed with SIGQUIT a minute ago, and by one before
    // the clock was set back; a page a running sign-in still serves.
    let old = page("console-0a0a0a.html", now - Duration::from_secs(60));
    let future = page("console-0b0b0b.html", now + Duration::from_secs(3600));
    let live = page("console-0c0c0c.html", now);
    let out = console(
        &stack,
        &fed.endpoint(),
        &["dev", "--print", "--mfa-code", MFA_CODE],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(!old.exists(), "an old page is swept");
    assert!(!future.exists(), "a page dated in the future is swept");
    assert!(live.exists(), "a page in use stays");
    // Even a run that signs nobody in sweeps.
    let old = page("console-0d0d0d.html", now - Duration::from_secs(60));
    let out = console(&stack, &fed.endpoint(), &["primary", "--print"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(!old.exists(), "swept before the refusal");
}
