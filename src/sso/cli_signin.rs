//! How a started IAM Identity Center sign-in is shown outside the picker:
//! on stderr the URL and the user code (always), a QR code of the URL when
//! stderr is a terminal, and the browser opened on the URL with the code
//! filled in (`$BROWSER`, else the platform's opener, through
//! [`crate::shell`]) unless `--no-browser` or there is no display (an SSH
//! session without `DISPLAY`/`WAYLAND_DISPLAY`). The URL carries the user
//! code only, never a token. A sign-in a command starts by itself (not
//! `sso login`) gives up at once when no browser opened (an opener that
//! exits with an error counts as none) and stderr is no terminal: nobody
//! would ever see the code.

use crate::aws::sso::DeviceAuthorization;
use crate::diag;
use crate::sso::token::{Shown, SignInUi};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// The sign-in shown on stderr (see the module doc).
#[derive(Debug, Clone)]
pub struct TerminalSignIn {
    /// Open the browser by itself.
    pub open_browser: bool,
    /// Draw a QR code of the URL.
    pub qr: bool,
    /// Quiet: no text at all (the picker owns the screen).
    pub quiet: bool,
    /// Give up at once ([`Shown::Nobody`]) when no browser opened and
    /// stderr is no terminal: nobody would ever see the code.
    pub needs_someone: bool,
}

impl TerminalSignIn {
    /// For `rolepick sso login`, which the user asked for: the browser
    /// unless `no_browser` or no display, a QR code when stderr is a
    /// terminal, and the URL and code on stderr even when it is not (a log
    /// the user reads).
    pub fn new(no_browser: bool) -> TerminalSignIn {
        TerminalSignIn {
            open_browser: !no_browser && has_display(|v| std::env::var_os(v)),
            qr: std::io::stderr().is_terminal(),
            quiet: false,
            needs_someone: false,
        }
    }

    /// For a sign-in that a command needing credentials starts by itself
    /// (`exec`, `env`, `credential-process`, the endpoint): as
    /// [`TerminalSignIn::new`], but with no browser opened and no terminal
    /// to show the code on, it fails at once (run `rolepick sso login`)
    /// instead of waiting out the device code.
    pub fn unattended() -> TerminalSignIn {
        TerminalSignIn {
            needs_someone: true,
            ..TerminalSignIn::new(false)
        }
    }
}

impl TerminalSignIn {
    /// For the picker, which owns the screen: the browser only (when there
    /// is a display), no text.
    pub fn quiet() -> TerminalSignIn {
        TerminalSignIn {
            open_browser: has_display(|v| std::env::var_os(v)),
            qr: false,
            quiet: true,
            needs_someone: false,
        }
    }
}

/// Whether a browser can be shown: not in an SSH session (`SSH_CONNECTION`
/// or `SSH_TTY` set) unless a display is forwarded (`DISPLAY` or
/// `WAYLAND_DISPLAY`).
pub fn has_display(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let set = |v: &str| var(v).is_some_and(|s| !s.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return true;
    }
    !(set("SSH_CONNECTION") || set("SSH_TTY"))
}

/// The text shown for a sign-in (without the QR code).
pub fn instructions(auth: &DeviceAuthorization, opened: bool) -> String {
    let how = if opened {
        "A browser window is opening; approve the request there"
    } else {
        "Open this URL in a browser and approve the request"
    };
    format!(
        "IAM Identity Center sign-in: {how}.\n  URL:  {}\n  Code: {} (check the browser shows the same code)\n",
        auth.verification_uri_complete, auth.user_code
    )
}

/// How long an opener that has not exited yet is given to fail before it
/// counts as a browser that opened (xdg-open with nothing to open with
/// exits at once; a `$BROWSER` that is the browser itself keeps running).
const OPENER_GRACE: Duration = Duration::from_millis(1500);

/// Opens the browser on `url`; whether it (probably) opened.
fn open(url: &str) -> bool {
    let mut child = match crate::shell::open_browser(url, true) {
        Ok(child) => child,
        Err(e) => {
            diag::warn(&format!("{e}"));
            return false;
        }
    };
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return true,
            Ok(Some(status)) => {
                diag::warn(&format!(
                    "the browser could not be opened (its opener ended with {status})"
                ));
                return false;
            }
            Ok(None) if waited < OPENER_GRACE => {
                std::thread::sleep(step);
                waited += step;
            }
            _ => {
                // Reaped in the background: the browser may outlive us.
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
                return true;
            }
        }
    }
}

impl SignInUi for TerminalSignIn {
    fn show(&self, auth: &DeviceAuthorization) {
        self.present(auth);
    }

    fn present(&self, auth: &DeviceAuthorization) -> Shown {
        let opened = self.open_browser && open(&auth.verification_uri_complete);
        if self.needs_someone && !opened && !std::io::stderr().is_terminal() {
            return Shown::Nobody;
        }
        if self.quiet {
            return Shown::Waiting;
        }
        let mut text = instructions(auth, opened);
        if self.qr {
            if let Ok(code) = qrcode::QrCode::new(auth.verification_uri_complete.as_bytes()) {
                let qr = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                text.push_str(&format!("{qr}\n"));
            }
        }
        text.push_str("Waiting for approval...\n");
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        Shown::Waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn an_ssh_session_without_a_forwarded_display_opens_no_browser() {
        assert!(has_display(env(&[])));
        assert!(!has_display(env(&[(
            "SSH_CONNECTION",
            "1.2.3.4 5 6.7.8.9 22"
        )])));
        assert!(!has_display(env(&[("SSH_TTY", "/dev/pts/3")])));
        assert!(has_display(env(&[
            ("SSH_TTY", "/dev/pts/3"),
            ("DISPLAY", "localhost:10.0")
        ])));
        assert!(has_display(env(&[
            ("SSH_TTY", "/dev/pts/3"),
            ("WAYLAND_DISPLAY", "wayland-0")
        ])));
    }
}
