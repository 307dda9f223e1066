//! The `?` overlay: every key the picker knows.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::modal::centered;
use super::Theme;
use crate::app::state::State;

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
    let rect = centered(area, 60, u16::try_from(keys.len()).unwrap_or(10) + 4);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<14}"), theme.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Esc or ? closes this help", theme.dim()));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        rect,
    );
}
