//! The status line (spinner while a request is in flight, else the last
//! message or error) and the footer of key hints.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Theme;
use crate::app::flow::{Flow, Intent};
use crate::app::state::{State, StatusKind, SPINNER};

pub fn render_status(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = if let Some(p) = state.pending() {
        let what = match (&state.flow, &state.status) {
            // A warning from the request under way (e.g. waiting for a
            // lock) says more than "Getting credentials".
            (_, Some(s)) if s.kind == StatusKind::Warning => format!("! {}", s.text),
            (Some(Flow::Passphrase(m)), _) if m.submitted.is_some() => {
                format!("Unlocking the vault for {}…", m.source)
            }
            (Some(Flow::SignIn(m)), _) => format!(
                "Waiting for the IAM Identity Center sign-in to {} to be approved…",
                m.source
            ),
            _ if p.intent == Intent::Console => {
                format!("Signing in to the AWS console as {}…", p.profile)
            }
            _ => format!("Getting credentials for {}…", p.profile),
        };
        Line::from(vec![
            Span::styled(
                format!(" {} ", SPINNER[state.spinner % SPINNER.len()]),
                theme.key(),
            ),
            Span::raw(what),
        ])
    } else if let Some(s) = &state.status {
        let (mark, style) = match s.kind {
            StatusKind::Error => (" ✗ ", theme.error()),
            StatusKind::Warning => (" ! ", theme.warning()),
            StatusKind::Info => (" ", ratatui::style::Style::default()),
        };
        Line::styled(fitted(mark, &s.text, usize::from(area.width)), style)
    } else {
        Line::raw("")
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// What `?` adds to a message cut to fit the status line: the help
/// overlay shows it whole.
pub const MORE: &str = "… (? more)";

/// `mark` and `text` in `width` columns: whole when it fits, else its
/// first words (messages say what matters first) and [`MORE`].
fn fitted(mark: &str, text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let whole = format!("{mark}{text}");
    if whole.width() <= width {
        return whole;
    }
    let room = width.saturating_sub(mark.width() + MORE.width());
    let mut cut = String::from(mark);
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        cut.push(c);
        used += w;
    }
    let cut = cut.trim_end();
    format!("{cut}{MORE}")
}

/// Columns the footer takes for `keys` (a space before, two between).
fn hints_width(keys: &[(&str, &str)]) -> usize {
    use unicode_width::UnicodeWidthStr;
    let items: usize = keys.iter().map(|(k, w)| k.width() + 1 + w.width()).sum();
    1 + items + 2 * keys.len().saturating_sub(1)
}

pub fn render_footer(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut keys: Vec<(&str, &str)> = if state.list.filter().editing {
        vec![
            ("type", "filter"),
            ("⏎", "open"),
            ("↑↓", "move"),
            ("Esc", "clear"),
        ]
    } else {
        vec![
            ("↑↓/jk", "move"),
            ("/", "filter"),
            ("⏎", "open"),
            ("o", "console"),
            ("r", "re-auth"),
            ("?", "help"),
            ("q", "quit"),
        ]
    };
    if !state.list.filter().editing && state.rotate_offered().is_some() {
        keys.insert(5, ("R", "rotate key"));
    }
    if !state.list.filter().editing && state.has_sso() {
        keys.insert(5, ("s", "sync"));
    }
    // Too narrow for every hint: the least needed go first.
    for drop in ["move", "sync", "re-auth", "filter"] {
        if hints_width(&keys) <= usize::from(area.width) {
            break;
        }
        keys.retain(|(_, what)| *what != drop);
    }
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in &keys {
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn a_long_message_keeps_its_first_words_and_points_to_help() {
        assert_eq!(fitted(" ✗ ", "short", 80), " ✗ short");
        let long = "No browser for dev: `rolepick console dev --print` prints the sign-in URL to open yourself (the browser command failed: exit status: 2)";
        let s = fitted(" ✗ ", long, 80);
        assert!(s.width() <= 80, "{s}");
        assert!(
            s.starts_with(" ✗ No browser for dev: `rolepick console dev --print`"),
            "{s}"
        );
        assert!(s.ends_with(MORE), "{s}");
        assert!(fitted(" ✗ ", long, 5).width() <= 13);
    }
}
