//! The picker's list as a component: the role rows grouped by account, the
//! `/` filter that narrows them (fuzzy, with a reused matcher), the lines it
//! shows, the cursor (always on a role, never on an account header) and the
//! scroll. `update` changes it only through its methods, which keep those
//! invariants; `ui` reads it.
//!
//! Methods that move the cursor take `page`, the number of lines on screen,
//! so that the cursor stays visible; the list does not know the screen.

use std::collections::HashMap;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32String};

use crate::model::{arn_account, Model, ProfileKind};

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
    /// Index into [`State::sources`](crate::app::state::State::sources).
    pub source: usize,
    /// Index into [`RoleList::groups`].
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

/// The list of roles, filtered, with its cursor and scroll.
#[derive(Debug)]
pub struct RoleList {
    groups: Vec<Group>,
    rows: Vec<RoleRow>,
    filter: Filter,
    /// What the list shows, in order.
    lines: Vec<Line>,
    /// Index into `lines`; always a `Line::Role` when some.
    cursor: Option<usize>,
    /// First line shown.
    scroll: usize,
    /// Scores the filter; reused across keystrokes.
    matcher: Matcher,
}

impl RoleList {
    /// The model's profiles as rows, grouped by account in order of first
    /// appearance; `source_index` gives each source's index in the header.
    /// The cursor starts on the first role.
    pub fn new(model: &Model, source_index: &HashMap<&str, usize>, page: usize) -> RoleList {
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
        let mut list = RoleList {
            groups,
            rows,
            filter: Filter::default(),
            lines: Vec::new(),
            cursor: None,
            scroll: 0,
            matcher: Matcher::new(nucleo_matcher::Config::DEFAULT),
        };
        list.rebuild_lines(None, page);
        list
    }

    /// Every row, filtered or not.
    pub fn rows(&self) -> &[RoleRow] {
        &self.rows
    }

    /// How many roles the filter lets through (every role without one).
    pub fn matching(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l, Line::Role(_)))
            .count()
    }

    /// Every account.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// What the list shows, in order (the filter applied).
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Index into [`lines`](Self::lines) of the selected role, if any.
    pub fn cursor(&self) -> Option<usize> {
        self.cursor
    }

    /// The first line shown.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// The lines shown in `page` lines on screen, with their index in
    /// [`lines`](Self::lines).
    pub fn visible(&self, page: usize) -> impl Iterator<Item = (usize, &Line)> {
        let scroll = self.scroll.min(self.lines.len().saturating_sub(page));
        self.lines.iter().enumerate().skip(scroll).take(page)
    }

    /// The row under the cursor.
    pub fn selected(&self) -> Option<&RoleRow> {
        self.rows.get(self.selected_row()?)
    }

    /// Index into [`rows`](Self::rows) of the row under the cursor.
    pub fn selected_row(&self) -> Option<usize> {
        match self.lines.get(self.cursor?)? {
            Line::Role(r) => Some(*r),
            Line::Header(_) => None,
        }
    }

    /// Index into [`rows`](Self::rows) of `profile`'s row.
    pub fn row_of(&self, profile: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.profile == profile)
    }

    /// Puts the cursor on `profile`'s row when it is shown; false otherwise.
    pub fn select(&mut self, profile: &str, page: usize) -> bool {
        let Some(row) = self.row_of(profile) else {
            return false;
        };
        let Some(line) = self.lines.iter().position(|l| *l == Line::Role(row)) else {
            return false;
        };
        self.cursor = Some(line);
        self.ensure_visible(page);
        true
    }

    /// Keys go to the filter text (`true`) or are commands again.
    pub fn set_editing(&mut self, editing: bool) {
        self.filter.editing = editing;
    }

    /// Sets the filter text and re-filters, keeping the selected row when
    /// it is still shown, else selecting the best match.
    pub fn set_filter(&mut self, text: String, page: usize) {
        let keep = self.selected_row();
        self.filter
            .pattern
            .reparse(&text, CaseMatching::Smart, Normalization::Smart);
        self.filter.text = text;
        self.rebuild_lines(keep, page);
    }

    /// Recomputes `lines` from the filter. Keeps `keep` (a row index) selected
    /// when it is still shown, else selects the best match (or the first row).
    fn rebuild_lines(&mut self, keep: Option<usize>, page: usize) {
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
        self.ensure_visible(page);
    }

    fn first_role_line(&self) -> Option<usize> {
        self.lines.iter().position(|l| matches!(l, Line::Role(_)))
    }

    /// Moves the cursor by `delta` role rows (negative: up), stopping at the ends.
    pub fn move_by(&mut self, delta: isize, page: usize) {
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
        self.ensure_visible(page);
    }

    /// Moves to the first (`end == false`) or last role row.
    pub fn move_to_end(&mut self, end: bool, page: usize) {
        self.cursor = if end {
            self.lines.iter().rposition(|l| matches!(l, Line::Role(_)))
        } else {
            self.first_role_line()
        };
        self.ensure_visible(page);
    }

    /// Scrolls so that the cursor (and its account header, when it is the
    /// first role of its group) is within the `page` lines on screen.
    pub fn ensure_visible(&mut self, page: usize) {
        let max_scroll = self.lines.len().saturating_sub(page);
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
        if cur >= self.scroll + page {
            self.scroll = cur + 1 - page;
        }
        self.scroll = self.scroll.min(max_scroll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
