//! Title line (counts and the filter) and one line per source with the
//! state of its MFA session and the age of its long-lived key, or, for an
//! IAM Identity Center session, its token's countdown and start URL.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Theme;
use crate::app::state::{countdown, key_age_urgency, State, Urgency, MAX_SOURCE_LINES};

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::with_capacity(area.height.into());
    let filtering = state.list.filter().editing || !state.list.filter().text.is_empty();
    // While filtering, how many roles match comes first (the filter text
    // may be long).
    let count = if filtering {
        format!(
            " {} of {} roles match ",
            state.list.matching(),
            state.list.rows().len()
        )
    } else {
        format!(
            " {} roles in {} accounts ",
            state.list.rows().len(),
            state.list.groups().len()
        )
    };
    let mut title = vec![
        Span::styled(" rolepick ", theme.title()),
        Span::styled(count, theme.dim()),
    ];
    if filtering {
        title.push(Span::styled(" / ", theme.key()));
        title.push(Span::raw(state.list.filter().text.clone()));
        if state.list.filter().editing {
            title.push(Span::styled("▏", theme.key()));
        }
    }
    lines.push(Line::from(title));
    for src in state.sources.iter().take(MAX_SOURCE_LINES) {
        let mut spans = vec![
            Span::raw("  "),
            Span::styled(src.name.clone(), theme.header()),
            Span::raw("  "),
        ];
        let session = countdown(state.now, state.session_expiry.get(&src.name).copied());
        if let Some(url) = &src.sso_start_url {
            // An Identity Center session: its token's countdown.
            match session {
                Some(c) => {
                    spans.push(Span::styled("SSO token ", theme.dim()));
                    spans.push(Span::styled(c.text, theme.urgency(c.urgency)));
                }
                None => spans.push(Span::styled("not signed in", theme.dim())),
            }
            spans.push(Span::styled(format!("  {url}"), theme.dim()));
            lines.push(Line::from(spans));
            continue;
        }
        match (&src.mfa_serial, session) {
            (_, Some(c)) => {
                spans.push(Span::styled("MFA session ", theme.dim()));
                spans.push(Span::styled(c.text, theme.urgency(c.urgency)));
            }
            (Some(_), None) if src.mfa_process => {
                spans.push(Span::styled(
                    "no session (MFA code by command)",
                    theme.dim(),
                ));
            }
            (Some(_), None) => spans.push(Span::styled("no MFA session", theme.dim())),
            (None, None) => spans.push(Span::styled("no MFA device", theme.dim())),
        }
        if let Some(days) = src.key_age {
            let style = match key_age_urgency(days) {
                Urgency::Fine => theme.dim(),
                u => theme.urgency(u),
            };
            spans.push(Span::styled(format!("  key {days}d"), style));
        } else if src.key_age_unknown {
            // In the vault, created on a day rolepick was not told.
            spans.push(Span::styled("  key ?", theme.dim()));
        }
        if let Some(serial) = &src.mfa_serial {
            spans.push(Span::styled(format!("  {serial}"), theme.dim()));
        }
        lines.push(Line::from(spans));
    }
    if state.sources.len() > MAX_SOURCE_LINES {
        lines.push(Line::styled(
            format!("  +{} more sources", state.sources.len() - MAX_SOURCE_LINES),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
