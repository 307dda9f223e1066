//! The `?` overlay: every key the picker knows.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::modal::centered;
use super::{text, Theme};
use crate::app::state::{State, StatusKind};

/// Columns of the key column, with the space before it.
const KEY_COLUMN: u16 = 15;

pub const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move"),
    ("PgUp PgDn", "move a page"),
    ("g G  Home End", "first / last role"),
    ("mouse wheel", "move"),
    ("/", "filter: account, id, role, profile, group, tags"),
    ("Enter", "open a shell with the role's credentials"),
    ("o", "AWS console as the role, in your browser"),
    ("r", "re-authenticate: new MFA code and session"),
    ("Esc", "close / clear the filter (never quits)"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// Shown only when an IAM Identity Center session is configured.
pub const SSO_KEYS: &[(&str, &str)] = &[
    ("r (SSO role)", "sign in to IAM Identity Center again"),
    ("s", "list the Identity Center accounts again"),
];

/// Shown only when the selected role's source key is old enough to rotate.
pub const ROTATE_KEY: (&str, &str) = ("R", "rotate the source's access key (90+ days old)");

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut keys = KEYS.to_vec();
    if state.rotate_offered().is_some() {
        keys.insert(8, ROTATE_KEY);
    }
    if state.has_sso() {
        let at = keys
            .iter()
            .position(|(k, _)| *k == "r")
            .map_or(0, |i| i + 1);
        for (i, k) in SSO_KEYS.iter().enumerate() {
            keys.insert(at + i, *k);
        }
    }
    let width = 60.min(area.width);
    // A description wraps under itself: nothing is cut at any width.
    let desc = usize::from(width.saturating_sub(2 + KEY_COLUMN));
    let mut lines: Vec<Line> = Vec::new();
    for (k, what) in &keys {
        for (i, part) in text::wrap(what, desc).into_iter().enumerate() {
            let key = if i == 0 { *k } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {key:<14}"), theme.key()),
                Span::raw(part),
            ]));
        }
    }
    // The last message, whole: the status line cuts a long one.
    if let Some(status) = &state.status {
        lines.push(Line::raw(""));
        let style = match status.kind {
            StatusKind::Error => theme.error(),
            StatusKind::Warning => theme.warning(),
            StatusKind::Info => theme.dim(),
        };
        lines.push(Line::styled(" Last message:", theme.dim()));
        for part in text::wrap(&status.text, usize::from(width.saturating_sub(3))) {
            lines.push(Line::styled(format!(" {part}"), style));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Esc or ? closes this help", theme.dim()));
    let rect = centered(
        area,
        width,
        u16::try_from(lines.len() + 2).unwrap_or(u16::MAX),
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        rect,
    );
}
