//! The picker's own model: the rows it shows (accounts as groups, their roles
//! beneath, the sources with their MFA sessions), what is selected, the filter,
//! the modal and overlay, the request in flight and the last message.
//!
//! Built once from [`crate::model::Model`] plus the expiry stamps the cache
//! knows; changed only by [`crate::app::update::update`]; read by `ui`.
//! Holds no I/O handles and never reads the clock: `now` arrives by `Msg::Tick`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32String};

use crate::clock::secs_until;
use crate::model::key_age::{self, ALERT_DAYS};
use crate::model::{arn_account, Model, ProfileKind};
use crate::secret::SecretString;

/// How hard to refresh; mirrors the engine's `Refresh` so the core does not
/// depend on the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Cached credentials if still good, else new ones.
    IfNeeded,
    /// New role credentials even if the cached ones are good.
    Role,
    /// A new MFA session and new role credentials.
    Session,
}

/// Why a credential request was made: what to do when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Open a subshell for the role afterwards.
    Open,
    /// `r`: re-authenticate only.
    Reauth,
    /// `o`: open the AWS console for the role in a browser afterwards.
    Console,
}

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
}

/// An account: a group of role rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: Option<String>,
    pub id: Option<String>,
    /// The account's group (config.toml `group`), shown and searchable.
    pub group: Option<String>,
    pub region: Option<String>,
    pub tags: Vec<String>,
}

impl Group {
    /// The account's display name: its name, else its id, else a placeholder.
    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .or(self.id.as_deref())
            .unwrap_or("(no account)")
    }
}

/// One runnable profile (a role, or a source's own session).
#[derive(Debug, Clone)]
pub struct RoleRow {
    pub profile: String,
    /// Role name, or `session` for a source's own session profile.
    pub role: String,
    /// A role (not a source's own MFA session): it can sign in to the console.
    pub is_role: bool,
    pub region: Option<String>,
    /// Index into [`State::sources`].
    pub source: usize,
    /// Index into [`State::groups`].
    pub group: usize,
    pub mfa_serial: Option<String>,
    /// What the filter matches against; see [`Haystack`].
    pub haystack: Haystack,
}

/// The text the filter matches for a row, and where each field lies in it,
/// so that matched characters can be highlighted in the field they belong to.
#[derive(Debug, Clone)]
pub struct Haystack {
    pub text: Utf32String,
    /// Char ranges of: account name, account id, role name, profile name, group, tags.
    pub fields: [(u32, u32); 6],
}

/// Field indices into [`Haystack::fields`].
pub mod field {
    pub const ACCOUNT_NAME: usize = 0;
    pub const ACCOUNT_ID: usize = 1;
    pub const ROLE: usize = 2;
    pub const PROFILE: usize = 3;
    pub const GROUP: usize = 4;
    pub const TAGS: usize = 5;
}

impl Haystack {
    fn new(parts: [&str; 6]) -> Self {
        let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        let mut fields = [(0, 0); 6];
        let mut pos = 0u32;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                text.push(' ');
                pos += 1;
            }
            let len = u32::try_from(part.chars().count()).unwrap_or(u32::MAX);
            fields[i] = (pos, pos.saturating_add(len));
            text.push_str(part);
            pos = pos.saturating_add(len);
        }
        Haystack {
            text: Utf32String::from(text),
            fields,
        }
    }
}

/// A line of the list: an account header or a role row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Header(usize),
    Role(usize),
}

/// The `/` filter.
#[derive(Debug, Default)]
pub struct Filter {
    pub text: String,
    /// Keys go to the filter text.
    pub editing: bool,
    pub pattern: Pattern,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        !self.pattern.atoms.is_empty()
    }
}

/// The MFA code modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaModal {
    pub profile: String,
    pub source: String,
    pub serial: String,
    pub code: String,
    /// Why the last code did not work.
    pub error: Option<String>,
    /// Why the modal opened by itself (the MFA session ran out while a
    /// shell ran), shown above the code.
    pub note: Option<String>,
    pub refresh: Refresh,
    pub intent: Intent,
    /// Request id of the submitted code, while it is being checked.
    pub submitted: Option<u64>,
    /// The vault passphrase from the passphrase modal, sent with the code.
    pub passphrase: Option<SecretString>,
}

/// Longest vault passphrase the modal takes, in bytes. The input buffer is
/// allocated this big up front so it never moves while typed into.
pub const PASSPHRASE_CAPACITY: usize = 1024;

/// The vault passphrase modal: comes before the MFA modal when the source's
/// long-lived key is in a vault that only a typed passphrase opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseModal {
    pub profile: String,
    pub source: String,
    /// The vault file, shown so the user knows what they unlock.
    pub vault: PathBuf,
    /// What has been typed. Drawn masked, never in clear; redacted in `Debug`.
    pub input: SecretString,
    /// Why the last passphrase did not work.
    pub error: Option<String>,
    pub refresh: Refresh,
    pub intent: Intent,
    /// Request id of the submitted passphrase, while it is being tried.
    pub submitted: Option<u64>,
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

/// The modal over the list, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    Passphrase(PassphraseModal),
    Mfa(MfaModal),
    Rotate(RotateModal),
}

impl Modal {
    /// Request id of what the modal submitted, while it is being checked.
    pub fn submitted(&self) -> Option<u64> {
        match self {
            Modal::Passphrase(m) => m.submitted,
            Modal::Mfa(m) => m.submitted,
            Modal::Rotate(_) => None,
        }
    }

    pub fn profile(&self) -> &str {
        match self {
            Modal::Passphrase(m) => &m.profile,
            Modal::Mfa(m) => &m.profile,
            Modal::Rotate(m) => &m.profile,
        }
    }

    pub fn refresh(&self) -> Refresh {
        match self {
            Modal::Passphrase(m) => m.refresh,
            Modal::Mfa(m) => m.refresh,
            Modal::Rotate(_) => Refresh::IfNeeded,
        }
    }
}

/// A credential request in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub req_id: u64,
    pub profile: String,
    pub intent: Intent,
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
        ("expired".to_string(), Urgency::Expired)
    } else if secs < 3600 {
        let u = if secs < 120 {
            Urgency::Critical
        } else if secs < 600 {
            Urgency::Soon
        } else {
            Urgency::Fine
        };
        (format!("{:02}:{:02}", secs / 60, secs % 60), u)
    } else {
        (
            format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
            Urgency::Fine,
        )
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

/// Everything the picker shows.
#[derive(Debug)]
pub struct State {
    pub now: SystemTime,
    /// False when `NO_COLOR` is set: use bold/reverse only.
    pub color: bool,
    pub sources: Vec<SourceView>,
    pub groups: Vec<Group>,
    pub rows: Vec<RoleRow>,
    /// Expiry of cached credentials by profile.
    pub role_expiry: HashMap<String, SystemTime>,
    /// Expiry of MFA sessions by source.
    pub session_expiry: HashMap<String, SystemTime>,
    /// Profiles with a live rolepick shell (in any terminal), with how many.
    pub live_shells: HashMap<String, usize>,
    /// Cached credentials this close to expiry are refreshed, not used.
    pub refresh_before: Duration,
    pub filter: Filter,
    /// What the list shows, in order.
    pub lines: Vec<Line>,
    /// Index into `lines`; always a `Line::Role` when some.
    pub cursor: Option<usize>,
    /// First line shown.
    pub scroll: usize,
    pub width: u16,
    pub height: u16,
    pub modal: Option<Modal>,
    pub help: bool,
    pub pending: Option<Pending>,
    pub next_req_id: u64,
    pub status: Option<Status>,
    pub spinner: usize,
    /// Scores the filter; reused across keystrokes.
    pub matcher: Matcher,
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
            })
            .collect();
        let source_index: HashMap<&str, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();

        let mut groups: Vec<Group> = Vec::new();
        let mut group_index: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
        let mut rows: Vec<RoleRow> = Vec::with_capacity(model.profiles.len());
        for p in &model.profiles {
            let id = p.account.id.clone().or_else(|| {
                p.role()
                    .and_then(|r| arn_account(&r.role_arn).map(String::from))
            });
            let name = p.account.name.clone();
            let region = p
                .region
                .clone()
                .or_else(|| model.settings.default_region.clone());
            let key = (id.clone(), name.clone());
            let group = *group_index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    name,
                    id,
                    group: p.account.group.clone(),
                    region: region.clone(),
                    tags: p.account.tags.clone(),
                });
                groups.len() - 1
            });
            let (role, is_role) = match &p.kind {
                ProfileKind::Role(r) => (r.role_name().to_string(), true),
                ProfileKind::Sso { role_name, .. } => (role_name.clone(), true),
                ProfileKind::Session => ("session".to_string(), false),
            };
            let g = &groups[group];
            let tags = g.tags.join(" ");
            let haystack = Haystack::new([
                g.name.as_deref().unwrap_or(""),
                g.id.as_deref().unwrap_or(""),
                &role,
                &p.name,
                g.group.as_deref().unwrap_or(""),
                &tags,
            ]);
            let source = source_index.get(p.source.as_str()).copied().unwrap_or(0);
            rows.push(RoleRow {
                profile: p.name.clone(),
                role,
                is_role,
                region,
                source,
                group,
                mfa_serial: p.mfa_serial.clone(),
                haystack,
            });
        }
        // Rows grouped by account, in order of first appearance (stable).
        rows.sort_by_key(|r| r.group);

        let mut state = State {
            now,
            color: true,
            sources,
            groups,
            rows,
            role_expiry,
            session_expiry,
            live_shells: HashMap::new(),
            refresh_before: model.settings.refresh_before,
            filter: Filter::default(),
            lines: Vec::new(),
            cursor: None,
            scroll: 0,
            width: 80,
            height: 24,
            modal: None,
            help: false,
            pending: None,
            next_req_id: 1,
            status: None,
            spinner: 0,
            matcher: Matcher::new(nucleo_matcher::Config::DEFAULT),
        };
        state.rebuild_lines(None);
        state
    }

    /// The row under the cursor.
    pub fn selected(&self) -> Option<&RoleRow> {
        match self.lines.get(self.cursor?)? {
            Line::Role(r) => self.rows.get(*r),
            Line::Header(_) => None,
        }
    }

    /// Index into `rows` of the row under the cursor.
    pub fn selected_row(&self) -> Option<usize> {
        match self.lines.get(self.cursor?)? {
            Line::Role(r) => Some(*r),
            Line::Header(_) => None,
        }
    }

    /// The source of the selected role and its key's age, when that key is
    /// old enough ([`ALERT_DAYS`]) for `R` to offer rotating it.
    pub fn rotate_offered(&self) -> Option<(&str, i64)> {
        let src = self.sources.get(self.selected()?.source)?;
        let age = src.key_age.filter(|d| *d >= ALERT_DAYS)?;
        Some((&src.name, age))
    }

    /// Lines the header takes: title plus sources.
    pub fn header_rows(&self) -> u16 {
        let n = self.sources.len();
        let shown = n.min(MAX_SOURCE_LINES) + usize::from(n > MAX_SOURCE_LINES);
        1 + u16::try_from(shown).unwrap_or(0)
    }

    /// Lines available to the list at the current size.
    pub fn list_rows(&self) -> usize {
        // title + sources, a blank, the list, status, footer.
        usize::from(self.height.saturating_sub(self.header_rows() + 3)).max(1)
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
        self.pending.is_some() || !self.role_expiry.is_empty() || !self.session_expiry.is_empty()
    }

    /// Recomputes `lines` from the filter. Keeps `keep` (a row index) selected
    /// when it is still shown, else selects the best match (or the first row).
    pub fn rebuild_lines(&mut self, keep: Option<usize>) {
        self.lines.clear();
        let mut best: Option<(u32, usize)> = None;
        let mut keep_line = None;
        let mut last_group = usize::MAX;
        let active = self.filter.is_active();
        for (i, row) in self.rows.iter().enumerate() {
            if active {
                let Some(score) = self
                    .filter
                    .pattern
                    .score(row.haystack.text.slice(..), &mut self.matcher)
                else {
                    continue;
                };
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((
                        score,
                        self.lines.len() + usize::from(row.group != last_group),
                    ));
                }
            }
            if row.group != last_group {
                self.lines.push(Line::Header(row.group));
                last_group = row.group;
            }
            if keep == Some(i) {
                keep_line = Some(self.lines.len());
            }
            self.lines.push(Line::Role(i));
        }
        self.cursor = if active {
            best.map(|(_, l)| l)
        } else {
            keep_line.or_else(|| self.first_role_line())
        };
        if self.cursor.is_none() {
            self.cursor = self.first_role_line();
        }
        if self.cursor.is_none() || keep_line.is_none() {
            self.scroll = 0;
        }
        self.ensure_visible();
    }

    fn first_role_line(&self) -> Option<usize> {
        self.lines.iter().position(|l| matches!(l, Line::Role(_)))
    }

    /// Sets the filter text and re-filters.
    pub fn set_filter(&mut self, text: String) {
        let keep = self.selected_row();
        self.filter
            .pattern
            .reparse(&text, CaseMatching::Smart, Normalization::Smart);
        self.filter.text = text;
        self.rebuild_lines(keep);
    }

    /// Moves the cursor by `delta` role rows (negative: up), stopping at the ends.
    pub fn move_by(&mut self, delta: isize) {
        let Some(cur) = self.cursor else { return };
        let mut pos = cur;
        let mut left = delta.unsigned_abs();
        while left > 0 {
            let next = if delta > 0 {
                self.lines[pos + 1..]
                    .iter()
                    .position(|l| matches!(l, Line::Role(_)))
                    .map(|o| pos + 1 + o)
            } else {
                self.lines[..pos]
                    .iter()
                    .rposition(|l| matches!(l, Line::Role(_)))
            };
            match next {
                Some(n) => pos = n,
                None => break,
            }
            left -= 1;
        }
        self.cursor = Some(pos);
        self.ensure_visible();
    }

    /// Moves to the first (`end == false`) or last role row.
    pub fn move_to_end(&mut self, end: bool) {
        self.cursor = if end {
            self.lines.iter().rposition(|l| matches!(l, Line::Role(_)))
        } else {
            self.first_role_line()
        };
        self.ensure_visible();
    }

    /// Scrolls so that the cursor (and its account header, when it is the
    /// first role of its group) is on screen.
    pub fn ensure_visible(&mut self) {
        let rows = self.list_rows();
        let max_scroll = self.lines.len().saturating_sub(rows);
        let Some(cur) = self.cursor else {
            self.scroll = self.scroll.min(max_scroll);
            return;
        };
        let top = if cur > 0 && matches!(self.lines[cur - 1], Line::Header(_)) {
            cur - 1
        } else {
            cur
        };
        if top < self.scroll {
            self.scroll = top;
        }
        if cur >= self.scroll + rows {
            self.scroll = cur + 1 - rows;
        }
        self.scroll = self.scroll.min(max_scroll);
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

    #[test]
    fn haystack_fields_are_char_ranges() {
        let h = Haystack::new(["prod", "111", "admin", "prod-admin", "", "x"]);
        assert_eq!(h.fields[field::ACCOUNT_NAME], (0, 4));
        assert_eq!(h.fields[field::ACCOUNT_ID], (5, 8));
        assert_eq!(h.fields[field::ROLE], (9, 14));
        assert_eq!(h.fields[field::PROFILE], (15, 25));
        assert_eq!(h.fields[field::GROUP], (26, 26));
        assert_eq!(h.fields[field::TAGS], (27, 28));
    }
}
