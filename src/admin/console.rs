//! Console sign-in (`rolepick console`, the picker's `o`): a role's
//! credentials, exactly as `exec` gets them, turned into a sign-in URL by
//! the federation endpoint ([`crate::aws::federation`]), and that URL
//! handed to a browser.
//!
//! The URL signs anyone in as the role for 15 minutes, and any local user
//! can read any process's argv, so it never goes into one: the browser gets
//! the `file://` path of a one-time page (mode 0600, created with
//! `O_EXCL|O_NOFOLLOW` in rolepick's private cache directory, which is the
//! user's runtime dir when there is one) that sends it on to the URL. The
//! page is removed [`PAGE_LIFETIME`](crate::admin::console::PAGE_LIFETIME) after it was written; one left behind
//! by a killed rolepick is removed by the next `console` run (`--print`
//! too) or picker start ([`sweep_pages`](crate::admin::console::sweep_pages)).
//!
//! Only role credentials (AssumeRole) are ever sent: the endpoint does not
//! take an MFA session's (GetSessionToken), and rolepick never sends the
//! long-lived key nor calls GetFederationToken for it.

use crate::aws::federation::{self, FederationError, Partition};
use crate::engine::{Engine, MfaPrompt, Refresh};
use crate::error::Error;
use crate::fsutil::PrivateDir;
use crate::secret::SecretString;
use crate::shell;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

/// How long the one-time page exists: time for a browser to start and read it.
pub const PAGE_LIFETIME: Duration = Duration::from_secs(10);

/// How long to wait for the browser command to fail before calling it opened.
const OPENER_GRACE: Duration = Duration::from_millis(1500);

/// Names of the one-time pages: `console-<random>.html`.
const PAGE_PREFIX: &str = "console-";
const PAGE_SUFFIX: &str = ".html";

/// What to sign in to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    pub profile: &'a str,
    /// `--destination`: a service name or a console URL; `None`: console home.
    pub destination: Option<&'a str>,
    /// `--region`, over the profile's.
    pub region: Option<&'a str>,
    /// The URL goes to a browser (not `--print`): there must be one to
    /// start, which is checked before any credential is fetched.
    pub browser: bool,
}

/// Where the token comes from and where the browser lands, decided before
/// any credential is fetched (so a bad `--destination` costs no MFA code).
struct Plan {
    endpoint: String,
    destination: String,
}

fn plan(engine: &Engine, t: &Target<'_>) -> Result<Plan, Error> {
    let p = engine.profile(t.profile)?;
    let Some(role) = p.role() else {
        return Err(Error::Usage(format!(
            "console sign-in needs a role: profile {:?} is the MFA session of source {:?} (sts:GetSessionToken), which the AWS federation endpoint does not accept. Pick a role profile (`rolepick list` shows them).",
            p.name, p.source
        )));
    };
    let partition = Partition::of_arn(&role.role_arn).map_err(|name| {
        Error::Config(format!(
            "profile {:?} ({}): role_arn {:?} is in partition {name:?}, which has no console sign-in rolepick knows (aws, aws-cn, aws-us-gov).",
            p.name, p.origin, role.role_arn
        ))
    })?;
    let model = engine.model();
    let region = t
        .region
        .or(p.region.as_deref())
        .or_else(|| model.source(&p.source).and_then(|s| s.region.as_deref()))
        .or(model.settings.default_region.as_deref());
    let destination =
        federation::destination(partition, region, t.destination).map_err(Error::Usage)?;
    let endpoint = federation::endpoint(partition).map_err(Error::Config)?;
    // What is wrong with the request is said first; then whether a browser
    // can be started at all, still before any credential is fetched.
    if t.browser {
        browser_reachable(t.profile, |v| std::env::var_os(v))?;
    }
    Ok(Plan {
        endpoint,
        destination,
    })
}

/// The sign-in URL for `t`: the role's credentials (cached, else fetched
/// as `exec` would, asking `mfa` for a code if needed), a sign-in token for
/// them, the login URL.
pub fn sign_in_url(
    engine: &Engine,
    t: &Target<'_>,
    mfa: &dyn MfaPrompt,
) -> Result<SecretString, Error> {
    let plan = plan(engine, t)?;
    let creds = engine.credentials(t.profile, mfa, Refresh::IfNeeded)?;
    crate::diag::debug(&format!(
        "federation: getSigninToken at {} with the role credentials {} of {:?}",
        plan.endpoint, creds.access_key_id, t.profile
    ));
    let rt = crate::engine::runtime()?;
    let token = rt
        .block_on(federation::get_signin_token(&plan.endpoint, &creds))
        .map_err(|e| match e {
            FederationError::Refused { endpoint, detail } => Error::Refused {
                call: "federation:getSigninToken".into(),
                code: detail.clone(),
                message: format!(
                    "the AWS federation endpoint {endpoint} refused the role credentials of {:?} ({detail}). Check that the role session is good (`rolepick exec {} -- aws sts get-caller-identity`), that this machine's clock is right, and that {} is unset or names the federation endpoint of the role's partition.",
                    t.profile, t.profile, federation::ENDPOINT_VAR
                ),
            },
            FederationError::Unreachable { endpoint, detail } => Error::Unreachable {
                call: "federation:getSigninToken".into(),
                message: format!(
                    "cannot reach the AWS federation endpoint {endpoint}: {detail}. Check your network connection (and proxy), then try again."
                ),
            },
        })?;
    Ok(federation::login_url(
        &plan.endpoint,
        &plan.destination,
        &token,
    ))
}

/// The page's HTML: sends the browser on to `url` (meta refresh, and
/// `location.replace` so the page stays out of the history).
fn page_html(url: &SecretString) -> Zeroizing<String> {
    let u = url.expose();
    // One buffer, sized for the worst case, so that no copy of the URL is
    // left behind by a reallocation.
    let mut page = Zeroizing::new(String::with_capacity(1024 + 3 * 6 * u.len()));
    page.push_str(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<meta http-equiv=\"refresh\" content=\"0;url=",
    );
    html_attr(u, &mut page);
    page.push_str(
        "\"><title>rolepick: AWS console sign-in</title><script>window.location.replace(\"",
    );
    js_string(u, &mut page);
    page.push_str("\");</script></head><body><p>Signing in to the AWS console&hellip; <a href=\"");
    html_attr(u, &mut page);
    page.push_str("\">Continue</a></p></body></html>\n");
    page
}

/// `s` escaped for a double-quoted HTML attribute.
fn html_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// `s` escaped for a double-quoted JavaScript string inside `<script>`.
fn js_string(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() || matches!(c, '<' | '>' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// A one-time page in a private directory, removed when dropped.
#[derive(Debug)]
pub struct OneTimePage {
    path: PathBuf,
}

impl OneTimePage {
    /// Writes a page leading to `url` in `private`.
    pub fn write(private: &PrivateDir, url: &SecretString) -> Result<OneTimePage, Error> {
        let mut name = [0u8; 16];
        getrandom::fill(&mut name)
            .map_err(|e| Error::Other(format!("no randomness for a page name: {e}")))?;
        let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
        let file_name = format!("{PAGE_PREFIX}{hex}{PAGE_SUFFIX}");
        let path = private.path().join(&file_name);
        let mut f = private
            .create_new(&file_name)
            .map_err(|e| Error::io("create", &path, &e))?;
        let page = OneTimePage { path };
        let html = page_html(url);
        f.write_all(html.as_bytes())
            .map_err(|e| Error::io("write", &page.path, &e))?;
        Ok(page)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `file:///…` for the browser.
    pub fn file_url(&self) -> String {
        url::Url::from_file_path(&self.path)
            .map_or_else(|()| self.path.display().to_string(), |u| u.to_string())
    }
}

impl Drop for OneTimePage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the one-time pages left in the cache by a rolepick that was
/// killed before it could (SIGKILL, SIGQUIT, a crash): on every `console`
/// run (`--print` included) and when the picker starts. Never creates the
/// cache directory.
pub fn sweep_pages(cache: &crate::cache::Cache) {
    if !cache.dir().is_dir() {
        return;
    }
    if let Ok(dir) = cache.private_dir() {
        sweep(&dir, SystemTime::now());
    }
}

/// Whether a page last written at `written` is stale at `now`: written
/// [`PAGE_LIFETIME`] ago or more, or dated that far in the future (left
/// before the clock was set back: no live run wrote it).
fn stale(written: SystemTime, now: SystemTime) -> bool {
    let apart = match now.duration_since(written) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    apart >= PAGE_LIFETIME
}

/// Removes stale pages ([`stale`]) of this user from `dir`.
fn sweep(dir: &PrivateDir, now: SystemTime) {
    let Ok(rd) = std::fs::read_dir(dir.path()) else {
        return;
    };
    let me = crate::fsutil::uid();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PAGE_PREFIX) && name.ends_with(PAGE_SUFFIX)) {
            continue;
        }
        let Ok(m) = e.path().symlink_metadata() else {
            continue;
        };
        let old = m.modified().is_ok_and(|t| stale(t, now));
        if m.is_file() && m.uid() == me && old {
            dir.remove(name);
        }
    }
}

/// A browser started on a one-time page.
#[derive(Debug)]
pub struct Opened {
    page: OneTimePage,
    written: Instant,
    opener: Option<Child>,
    /// For whom, in what is said when it failed.
    profile: String,
}

/// `rolepick console`: opens `url` for `profile` in the browser through a
/// one-time page and waits until the page is gone ([`PAGE_LIFETIME`]) or a
/// signal comes (then the status is 128 + the signal).
pub fn open_until_done(engine: &Engine, url: SecretString, profile: &str) -> Result<u8, Error> {
    // From here a signal must not leave the page behind: it ends the wait.
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
            .map_err(|e| Error::Other(format!("cannot set up signal handling: {e}")))?;
    }
    let mut opened = open_in_browser(&engine.cache().private_dir()?, &url, false, profile)?;
    drop(url);
    opened.settle()?;
    eprintln!(
        "rolepick: opened the AWS console for {profile} in your browser; its one-time sign-in page is removed in {} s",
        PAGE_LIFETIME.as_secs()
    );
    opened.finish(&|| signal.load(Ordering::SeqCst) != 0);
    Ok(match signal.load(Ordering::SeqCst) {
        0 => 0,
        n => u8::try_from(128 + n).unwrap_or(1),
    })
}

/// The first words of every failure to open a browser for `profile`: what
/// failed and the command that works without one. The cause comes after.
fn no_browser(profile: &str, why: &str) -> String {
    format!(
        "No browser for {profile}: `rolepick console {profile} --print` prints the sign-in URL to open yourself ({why})"
    )
}

/// Whether a browser can be started for the console: `$BROWSER` (any
/// command, a text browser too), macOS's `open`, or a graphical session
/// (`DISPLAY`, `WAYLAND_DISPLAY`) for `xdg-open`. On a headless machine
/// `xdg-open` only tries text browsers and fills the terminal with their
/// "not found", so the hint is given instead (exit 127, as for a browser
/// command that is not there).
pub fn browser_reachable(
    profile: &str,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<(), Error> {
    let set = |v: &str| var(v).is_some_and(|s| !s.is_empty());
    if set("BROWSER") || cfg!(target_os = "macos") || set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return Ok(());
    }
    Err(Error::Spawn(no_browser(
        profile,
        "no display: DISPLAY and WAYLAND_DISPLAY are unset; or set BROWSER to a browser's command",
    )))
}

/// Writes the one-time page for `url` in `dir` (the cache directory, checked
/// by [`crate::fsutil`]) and starts the browser on it (see
/// [`shell::open_browser`]; `quiet`: no terminal for it).
pub fn open_in_browser(
    dir: &PrivateDir,
    url: &SecretString,
    quiet: bool,
    profile: &str,
) -> Result<Opened, Error> {
    sweep(dir, SystemTime::now());
    let page = OneTimePage::write(dir, url)?;
    let written = Instant::now();
    let opener = shell::open_browser(&page.file_url(), quiet).map_err(|e| {
        let code = e.exit_code();
        let text = no_browser(profile, &e.to_string());
        if code == crate::error::exit::NOT_FOUND {
            Error::Spawn(text)
        } else {
            Error::Other(text)
        }
    })?;
    Ok(Opened {
        page,
        written,
        opener: Some(opener),
        profile: profile.to_string(),
    })
}

impl Opened {
    pub fn page(&self) -> &Path {
        self.page.path()
    }

    /// Gives the browser command a moment to fail: an error if it exits
    /// unsuccessfully within it (nothing was opened), else `Ok` (it exited
    /// well, or it is the browser itself, still running).
    pub fn settle(&mut self) -> Result<(), Error> {
        let until = Instant::now() + OPENER_GRACE;
        while let Some(child) = self.opener.as_mut() {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.opener = None;
                    if status.success() {
                        return Ok(());
                    }
                    return Err(Error::Other(no_browser(
                        &self.profile,
                        &format!("the browser command failed: {status}; set BROWSER to your browser's command"),
                    )));
                }
                Ok(None) if Instant::now() >= until => return Ok(()),
                Ok(None) => std::thread::sleep(Duration::from_millis(25)),
                Err(_) => {
                    self.opener = None;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Keeps the page until [`PAGE_LIFETIME`] after it was written, or
    /// until `stop` says so, then removes it. The browser command is
    /// waited for if it ended meanwhile (a browser still running is left
    /// to run).
    pub fn finish(mut self, stop: &dyn Fn() -> bool) {
        while self.written.elapsed() < PAGE_LIFETIME && !stop() {
            if let Some(c) = self.opener.as_mut() {
                if !matches!(c.try_wait(), Ok(None)) {
                    self.opener = None;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(self.page);
        if let Some(mut c) = self.opener.take() {
            let _ = c.try_wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::Links;
    use std::fs::File;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_page_is_private_leads_to_the_url_and_goes_when_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rt");
        let url = SecretString::new(
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=rolepick&SigninToken=a%2Bb".into(),
        );
        let private = PrivateDir::ensure(&dir, Links::Follow, "test").unwrap();
        let page = OneTimePage::write(&private, &url).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(page.path()), 0o600);
        let html = std::fs::read_to_string(page.path()).unwrap();
        assert!(
            html.contains("content=\"0;url=https://signin.aws.amazon.com/federation?Action=login&amp;Issuer=rolepick&amp;SigninToken=a%2Bb\""),
            "{html}"
        );
        assert!(html.contains("window.location.replace(\"https://signin.aws.amazon.com/federation?Action=login&Issuer=rolepick&SigninToken=a%2Bb\")"), "{html}");
        assert!(page.file_url().starts_with("file:///"));
        let path = page.path().to_path_buf();
        drop(page);
        assert!(!path.exists());
    }

    #[test]
    fn the_page_never_goes_through_a_symlink_or_into_an_open_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let url = SecretString::new("https://x".into());
        // A world-writable directory is refused, and left as it is.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = PrivateDir::ensure(&open, Links::Follow, "the cache directory").unwrap_err();
        assert!(
            e.to_string().contains("can be written by other users"),
            "{e}"
        );
        assert_eq!(mode(&open), 0o777);
        // A symlink where the page goes is not followed.
        let dir = tmp.path().join("rt");
        let private = PrivateDir::ensure(&dir, Links::Follow, "test").unwrap();
        let target = tmp.path().join("target");
        std::os::unix::fs::symlink(&target, dir.join("link")).unwrap();
        assert!(private.create_new("link").is_err());
        assert!(!target.exists());
        let page = OneTimePage::write(&private, &url).unwrap();
        assert_eq!(page.path().parent(), Some(dir.as_path()));
    }

    #[test]
    fn url_characters_cannot_break_out_of_the_page() {
        let url = SecretString::new("https://x/?a=\"><script>alert(1)</script>".into());
        let html = page_html(&url);
        assert_eq!(html.matches("<script>").count(), 1, "{}", html.as_str());
        assert_eq!(html.matches("</script>").count(), 1, "{}", html.as_str());
        assert!(!html.contains("a=\">"), "{}", html.as_str());
    }

    #[test]
    fn a_browser_is_reachable_with_browser_or_a_display_only() {
        use std::ffi::OsString;
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                set.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert!(browser_reachable("dev", env(&[("BROWSER", "w3m")])).is_ok());
        assert!(browser_reachable("dev", env(&[("DISPLAY", ":0")])).is_ok());
        assert!(browser_reachable("dev", env(&[("WAYLAND_DISPLAY", "wayland-0")])).is_ok());
        if !cfg!(target_os = "macos") {
            for none in [&[][..], &[("DISPLAY", ""), ("BROWSER", "")][..]] {
                let e = browser_reachable("dev", env(none)).unwrap_err();
                assert_eq!(e.exit_code(), crate::error::exit::NOT_FOUND);
                assert!(
                    e.to_string()
                        .starts_with("No browser for dev: `rolepick console dev --print`"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn pages_left_by_a_killed_run_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let private = PrivateDir::ensure(&dir, Links::Follow, "test").unwrap();
        let now = SystemTime::now();
        let page = |name: &str, at: SystemTime| {
            let p = dir.join(name);
            std::fs::write(&p, "x").unwrap();
            File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(at)
                .unwrap();
            p
        };
        let old = page("console-0123.html", now - Duration::from_secs(60));
        // Left before the clock was set back an hour.
        let future = page("console-89ab.html", now + Duration::from_secs(3600));
        let fresh = page("console-4567.html", now);
        let other = page("role-dev.json", now - Duration::from_secs(60));
        sweep(&private, now);
        assert!(!old.exists(), "an old page is removed");
        assert!(!future.exists(), "a page dated in the future is removed");
        assert!(fresh.exists(), "a page still in use stays");
        assert!(other.exists(), "nothing else is touched");
        // Through the cache, as `console` and the picker sweep.
        let old = page("console-cdef.html", now - Duration::from_secs(60));
        sweep_pages(&crate::cache::Cache::at(dir.clone()));
        assert!(!old.exists() && fresh.exists());
        // No cache directory: none is made.
        sweep_pages(&crate::cache::Cache::at(tmp.path().join("none")));
        assert!(!tmp.path().join("none").exists());
    }
}
