//! The MFA code modal: names the source and device, shows the digits typed,
//! the reason the last code was rejected, and why the modal opened by itself.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::Theme;
use crate::app::flow::{CodeStep, Intent};
use crate::app::state::{State, SPINNER};

/// A rectangle of at most `w`x`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The last line of a modal: a spinner with `busy` while the answer is
/// being checked, else the last error, else the keys (`⏎ action  Esc cancel`).
pub fn status_line(
    state: &State,
    theme: &Theme,
    submitted: bool,
    error: Option<&str>,
    busy: &'static str,
    action: &'static str,
) -> Line<'static> {
    if submitted {
        Line::from(vec![
            Span::styled(SPINNER[state.spinner % SPINNER.len()], theme.key()),
            Span::raw(busy),
        ])
    } else if let Some(e) = error {
        Line::styled(format!("✗ {e}"), theme.error())
    } else {
        Line::from(vec![
            Span::styled("⏎", theme.key()),
            Span::styled(action, theme.dim()),
            Span::styled("Esc", theme.key()),
            Span::styled(" cancel", theme.dim()),
        ])
    }
}

pub fn render(state: &State, m: &CodeStep, theme: &Theme, frame: &mut Frame, area: Rect) {
    // The note wraps inside the borders; the modal grows to fit it.
    let note_rows = m.note.as_ref().map_or(0, |n| {
        u16::try_from(n.chars().count().div_ceil(62) + 1).unwrap_or(4)
    });
    let rect = centered(area, 64, if note_rows == 0 { 11 } else { 10 + note_rows });
    let title = match m.intent {
        Intent::Open | Intent::Console => format!(" MFA code for {} ", m.source),
        Intent::Reauth => format!(" Re-authenticate {} ", m.source),
    };
    let mut digits = String::new();
    for i in 0..6 {
        digits.push(m.code.chars().nth(i).unwrap_or('_'));
        if i < 5 {
            digits.push(' ');
        }
    }
    let mut lines = Vec::new();
    if let Some(note) = &m.note {
        lines.push(Line::styled(note.clone(), theme.error()));
        lines.push(Line::raw(""));
    }
    lines.extend([
        Line::from(vec![
            Span::styled("Role    ", theme.dim()),
            Span::raw(m.profile.clone()),
        ]),
        Line::from(vec![
            Span::styled("Device  ", theme.dim()),
            Span::raw(m.serial.clone()),
        ]),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Code    ", theme.dim()),
            Span::styled(digits, theme.header()),
        ]),
        Line::raw(""),
    ]);
    lines.push(status_line(
        state,
        theme,
        m.submitted.is_some(),
        m.error.as_deref(),
        " Checking the code…",
        " submit  ",
    ));
    draw_box(frame, rect, title, lines);
}

/// Clears `rect` and draws `lines` in a bordered box titled `title`.
pub fn draw_box<'a>(
    frame: &mut Frame,
    rect: Rect,
    title: impl Into<ratatui::text::Line<'a>>,
    lines: Vec<Line<'a>>,
) {
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        rect,
    );
}
