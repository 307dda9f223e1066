//! The picker's own model: the sources with their MFA sessions, the list of
//! roles (a [`RoleList`]: accounts as groups, their roles beneath, the filter,
//! what is selected), the passphrase → code → fetch [`Flow`] under way (its
//! modals and its request in flight), the rotation confirmation, the help
//! overlay and the last message.
//!
//! Built once from [`crate::model::Model`] plus the expiry stamps the cache
//! knows; changed only by [`crate::app::update::update`]; read by `ui`.
//! Holds no I/O handles and never reads the clock: `now` arrives by `Msg::Tick`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::app::flow::{CodeStep, Flow, PassphraseStep, Pending, SignInStep};
use crate::app::list::{RoleList, RoleRow};
use crate::clock::secs_until;
use crate::model::key_age::{self, ALERT_DAYS};
use crate::model::Model;

pub use crate::app::flow::Refresh;

/// A source (holder of a long-lived key) as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceView {
    pub name: String,
    pub mfa_serial: Option<String>,
    /// The source gets its MFA code from a command: no modal.
    pub mfa_process: bool,
    /// The vault file to unlock, with a passphrase typed in the modal,
    /// before a new MFA session can be made; `None` when the key needs no
    /// typed passphrase.
    pub vault: Option<PathBuf>,
    /// Age in days of the long-lived key (vault index); `None` when unknown.
    pub key_age: Option<i64>,
    /// The key is in the vault but its age is unknown (`key ?`).
    pub key_age_unknown: bool,
    /// An IAM Identity Center session: its start URL. Its countdown (in
    /// `session_expiry`) is then the token's, from the AWS CLI token cache.
    pub sso_start_url: Option<String>,
}

/// `R`: "Rotate the key of source X now? y/n".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateModal {
    /// The role selected when `R` was pressed.
    pub profile: String,
    pub source: String,
    /// The key's age in days.
    pub age: i64,
}

/// The modal over the list, if any: an asking step of the [`Flow`], or
/// the rotation confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modal<'a> {
    Passphrase(&'a PassphraseStep),
    Mfa(&'a CodeStep),
    /// An IAM Identity Center sign-in waiting for the browser.
    SignIn(&'a SignInStep),
    Rotate(&'a RotateModal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    /// A warning rolepick printed while the picker had the screen.
    Warning,
    Error,
}

/// The last thing worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub kind: StatusKind,
    pub text: String,
}

/// How close to expiry a countdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Fine,
    /// Under 10 minutes.
    Soon,
    /// Under 2 minutes.
    Critical,
    Expired,
}

/// How a key's age is shown: plain, "rotate soon" from [`key_age::WARN_DAYS`],
/// "rotate now" from [`ALERT_DAYS`].
pub fn key_age_urgency(days: i64) -> Urgency {
    match key_age::urgency(days) {
        key_age::Urgency::Now => Urgency::Critical,
        key_age::Urgency::Soon => Urgency::Soon,
        key_age::Urgency::Fine => Urgency::Fine,
    }
}

/// A formatted countdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    pub text: String,
    pub urgency: Urgency,
}

/// `59:12` under an hour, `11h 58m` above, `expired` when past; `None` when not cached.
pub fn countdown(now: SystemTime, expiry: Option<SystemTime>) -> Option<Countdown> {
    let secs = secs_until(now, expiry?);
    let (text, urgency) = if secs <= 0 {
        (crate::timefmt::countdown(secs), Urgency::Expired)
    } else if secs < 3600 {
        let u = if secs < 120 {
            Urgency::Critical
        } else if secs < 600 {
            Urgency::Soon
        } else {
            Urgency::Fine
        };
        (crate::timefmt::countdown(secs), u)
    } else {
        (crate::timefmt::countdown(secs), Urgency::Fine)
    };
    Some(Countdown { text, urgency })
}

/// Smallest terminal the picker draws in; smaller shows a notice.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// Source lines shown in the header before "+N more".
pub const MAX_SOURCE_LINES: usize = 3;

/// Spinner frames for the status line.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Lines the header takes for `sources` sources: title plus sources.
fn header_rows_for(sources: usize) -> u16 {
    let shown = sources.min(MAX_SOURCE_LINES) + usize::from(sources > MAX_SOURCE_LINES);
    1 + u16::try_from(shown).unwrap_or(0)
}

/// Lines available to the list in a terminal `height` lines high.
fn list_rows_for(height: u16, sources: usize) -> usize {
    // title + sources, a blank, the list, status, footer.
    usize::from(height.saturating_sub(header_rows_for(sources) + 3)).max(1)
}

/// Everything the picker shows.
#[derive(Debug)]
pub struct State {
    pub now: SystemTime,
    /// False when `NO_COLOR` is set: use bold/reverse only.
    pub color: bool,
    pub sources: Vec<SourceView>,
    /// The roles, the filter, the cursor and the scroll.
    pub list: RoleList,
    /// Expiry of cached credentials by profile.
    pub role_expiry: HashMap<String, SystemTime>,
    /// Expiry of MFA sessions by source.
    pub session_expiry: HashMap<String, SystemTime>,
    /// Profiles with a live rolepick shell (in any terminal), with how many.
    pub live_shells: HashMap<String, usize>,
    /// Cached credentials this close to expiry are refreshed, not used.
    pub refresh_before: Duration,
    pub width: u16,
    pub height: u16,
    /// The passphrase → code → fetch flow under way, if any.
    pub flow: Option<Flow>,
    /// `R`'s confirmation, when open.
    pub rotate: Option<RotateModal>,
    pub help: bool,
    pub next_req_id: u64,
    pub status: Option<Status>,
    pub spinner: usize,
}

impl State {
    /// Builds the picker state from the configured model and what the cache knows.
    pub fn new(
        model: &Model,
        role_expiry: HashMap<String, SystemTime>,
        session_expiry: HashMap<String, SystemTime>,
        now: SystemTime,
    ) -> State {
        let sources: Vec<SourceView> = model
            .sources
            .values()
            .map(|s| SourceView {
                name: s.name.clone(),
                // In ~/.aws/config the serial often sits on the role profiles only.
                mfa_serial: s.mfa_serial().map(str::to_string).or_else(|| {
                    model
                        .profiles
                        .iter()
                        .find(|p| p.source == s.name && p.mfa_serial.is_some())
                        .and_then(|p| p.mfa_serial.clone())
                }),
                mfa_process: s.mfa_process().is_some(),
                vault: None,
                key_age: None,
                key_age_unknown: false,
                sso_start_url: s.sso().map(|x| x.start_url.clone()),
            })
            .collect();
        let source_index: HashMap<&str, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();

        let (width, height) = (80, 24);
        let list = RoleList::new(model, &source_index, list_rows_for(height, sources.len()));
        State {
            now,
            color: true,
            sources,
            list,
            role_expiry,
            session_expiry,
            live_shells: HashMap::new(),
            refresh_before: model.settings.refresh_before,
            width,
            height,
            flow: None,
            rotate: None,
            help: false,
            next_req_id: 1,
            status: None,
            spinner: 0,
        }
    }

    /// The same state drawn in colour or not (`NO_COLOR`): decided once,
    /// at the edge, before the picker starts.
    #[must_use]
    pub fn with_color(mut self, color: bool) -> State {
        self.color = color;
        self
    }

    /// The modal over the list, if any.
    pub fn modal(&self) -> Option<Modal<'_>> {
        match &self.flow {
            Some(Flow::Passphrase(s)) => Some(Modal::Passphrase(s)),
            Some(Flow::Code(s)) => Some(Modal::Mfa(s)),
            Some(Flow::SignIn(s)) => Some(Modal::SignIn(s)),
            _ => self.rotate.as_ref().map(Modal::Rotate),
        }
    }

    /// The request in flight (the spinner shows), if any.
    pub fn pending(&self) -> Option<Pending<'_>> {
        self.flow.as_ref()?.pending()
    }

    /// The row under the cursor.
    pub fn selected(&self) -> Option<&RoleRow> {
        self.list.selected()
    }

    /// The source of the selected role and its key's age, when that key is
    /// old enough ([`ALERT_DAYS`]) for `R` to offer rotating it.
    pub fn rotate_offered(&self) -> Option<(&str, i64)> {
        let src = self.sources.get(self.selected()?.source)?;
        let age = src.key_age.filter(|d| *d >= ALERT_DAYS)?;
        Some((&src.name, age))
    }

    /// True when a source is an IAM Identity Center session (`s` lists its
    /// accounts again).
    pub fn has_sso(&self) -> bool {
        self.sources.iter().any(|s| s.sso_start_url.is_some())
    }

    /// Lines the header takes: title plus sources.
    pub fn header_rows(&self) -> u16 {
        header_rows_for(self.sources.len())
    }

    /// Lines available to the list at the current size.
    pub fn list_rows(&self) -> usize {
        list_rows_for(self.height, self.sources.len())
    }

    /// True when the terminal is big enough to draw the picker.
    pub fn fits(&self) -> bool {
        self.width >= MIN_WIDTH && self.height >= MIN_HEIGHT
    }

    /// True when a source's MFA session is good for longer than the refresh margin.
    pub fn session_valid(&self, source: &str) -> bool {
        self.session_expiry
            .get(source)
            .is_some_and(|e| secs_until(self.now, *e) > self.margin_secs())
    }

    /// True when a profile's cached credentials are good for longer than the refresh margin.
    pub fn creds_valid(&self, profile: &str) -> bool {
        self.role_expiry
            .get(profile)
            .is_some_and(|e| secs_until(self.now, *e) > self.margin_secs())
    }

    fn margin_secs(&self) -> i64 {
        i64::try_from(self.refresh_before.as_secs()).unwrap_or(i64::MAX)
    }

    /// True when anything on screen changes as time passes (a countdown or the spinner).
    pub fn has_live_countdowns(&self) -> bool {
        self.pending().is_some() || !self.role_expiry.is_empty() || !self.session_expiry.is_empty()
    }

    /// Sets a status message.
    pub fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            kind: StatusKind::Info,
            text: text.into(),
        });
    }

    /// Sets a warning status message.
    pub fn warn(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            kind: StatusKind::Warning,
            text: text.into(),
        });
    }

    /// Sets an error status message.
    pub fn error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            kind: StatusKind::Error,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn countdown_is_empty_when_not_cached() {
        assert_eq!(countdown(at(1000), None), None);
    }

    #[test]
    fn countdown_under_an_hour_is_minutes_and_seconds() {
        let c = countdown(at(0), Some(at(59 * 60 + 12))).unwrap();
        assert_eq!(c.text, "59:12");
        assert_eq!(c.urgency, Urgency::Fine);
    }

    #[test]
    fn countdown_above_an_hour_is_hours_and_minutes() {
        let c = countdown(at(0), Some(at(11 * 3600 + 58 * 60 + 30))).unwrap();
        assert_eq!(c.text, "11h 58m");
        assert_eq!(countdown(at(0), Some(at(3600))).unwrap().text, "1h 00m");
    }

    #[test]
    fn countdown_past_expiry_says_expired() {
        let c = countdown(at(100), Some(at(100))).unwrap();
        assert_eq!(c.text, "expired");
        assert_eq!(c.urgency, Urgency::Expired);
        assert_eq!(countdown(at(100), Some(at(5))).unwrap().text, "expired");
    }

    #[test]
    fn countdown_thresholds_at_ten_and_two_minutes() {
        let u = |s| countdown(at(0), Some(at(s))).unwrap().urgency;
        assert_eq!(u(600), Urgency::Fine);
        assert_eq!(u(599), Urgency::Soon);
        assert_eq!(u(120), Urgency::Soon);
        assert_eq!(u(119), Urgency::Critical);
        assert_eq!(u(1), Urgency::Critical);
    }
}
