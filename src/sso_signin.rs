//! How a started IAM Identity Center sign-in is shown outside the picker:
//! on stderr the URL and the user code (always), a QR code of the URL when
//! stderr is a terminal, and the browser opened on the URL with the code
//! filled in (`$BROWSER`, else the platform's opener, through
//! [`crate::shell`]) unless `--no-browser` or there is no display (an SSH
//! session without `DISPLAY`/`WAYLAND_DISPLAY`). The URL carries the user
//! code only, never a token.

use crate::aws::sso::DeviceAuthorization;
use crate::diag;
use crate::sso_token::SignInUi;
use std::io::{IsTerminal, Write};

/// The sign-in shown on stderr (see the module doc).
#[derive(Debug, Clone)]
pub struct TerminalSignIn {
    /// Open the browser by itself.
    pub open_browser: bool,
    /// Draw a QR code of the URL.
    pub qr: bool,
    /// Quiet: no text at all (the picker owns the screen).
    pub quiet: bool,
}

impl TerminalSignIn {
    /// For the command line: the browser unless `no_browser` or no display,
    /// a QR code when stderr is a terminal.
    pub fn new(no_browser: bool) -> TerminalSignIn {
        TerminalSignIn {
            open_browser: !no_browser && has_display(|v| std::env::var_os(v)),
            qr: std::io::stderr().is_terminal(),
            quiet: false,
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

impl SignInUi for TerminalSignIn {
    fn show(&self, auth: &DeviceAuthorization) {
        let mut opened = false;
        if self.open_browser {
            match crate::shell::open_browser(&auth.verification_uri_complete, true) {
                Ok(mut child) => {
                    opened = true;
                    // Reaped in the background: the browser may outlive us.
                    std::thread::spawn(move || {
                        let _ = child.wait();
                    });
                }
                Err(e) => diag::warn(&format!("{e}")),
            }
        }
        if self.quiet {
            return;
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
