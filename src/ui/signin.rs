//! The IAM Identity Center sign-in modal: the user code to compare in the
//! browser, the URL (the browser opens by itself; the URL is for another
//! device; alone on a line as wide as the modal, never broken), a QR code of it drawn with half blocks (two modules a cell, so
//! it fits), the device code's countdown, and a spinner while the approval
//! is awaited. Only `Esc` does anything: it cancels.

use qrcode::{EcLevel, QrCode};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::modal::centered;
use super::Theme;
use crate::app::flow::{Intent, SignInStep};
use crate::app::state::{countdown, State, SPINNER};

/// Columns of text beside the QR code.
const TEXT_WIDTH: u16 = 42;
/// Lines of text beside the QR code: role, session, blank, code, expires,
/// blank, spinner, keys.
const TEXT_ROWS: u16 = 8;
/// Lines under them for the URL: what it is, then the URL alone on a line
/// of its own as wide as the modal, so that it is never broken (a URL
/// broken over two lines is copied with a break in the user code).
const URL_ROWS: u16 = 2;

/// The QR code of `data` as lines of half blocks (`▀`, `▄`, `█`, space; a
/// dark module is a block), with a one-module quiet zone; `None` when it
/// cannot be encoded.
pub fn qr_lines(data: &str) -> Option<Vec<String>> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::L).ok()?;
    let n = code.width();
    let dark = |x: usize, y: usize| -> bool {
        // One light module around the code.
        (1..=n).contains(&x) && (1..=n).contains(&y) && code[(x - 1, y - 1)] == qrcode::Color::Dark
    };
    let side = n + 2;
    let mut lines = Vec::with_capacity(side.div_ceil(2));
    for y in (0..side).step_by(2) {
        let line: String = (0..side)
            .map(|x| match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            })
            .collect();
        lines.push(line);
    }
    Some(lines)
}

pub fn render(state: &State, m: &SignInStep, theme: &Theme, frame: &mut Frame, area: Rect) {
    use unicode_width::UnicodeWidthStr;
    let qr = qr_lines(&m.uri);
    // The QR code only when the modal still fits beside it.
    let qr = qr.filter(|q| {
        let (w, h) = (q.first().map_or(0, |l| l.chars().count()), q.len());
        u16::try_from(w).is_ok_and(|w| w + TEXT_WIDTH + 3 <= area.width)
            && u16::try_from(h).is_ok_and(|h| h + URL_ROWS + 2 <= area.height)
    });
    let (qr_w, qr_h) = qr.as_ref().map_or((0, 0), |q| {
        (
            u16::try_from(q[0].chars().count()).unwrap_or(0),
            u16::try_from(q.len()).unwrap_or(0),
        )
    });
    let beside = if qr_w == 0 {
        TEXT_WIDTH + 2
    } else {
        qr_w + TEXT_WIDTH + 3
    };
    // As wide as the URL needs (within the screen).
    let url_w = u16::try_from(m.uri.width()).unwrap_or(u16::MAX);
    let width = beside.max(url_w.saturating_add(2));
    let top = qr_h.max(TEXT_ROWS);
    let rect = centered(area, width, top + URL_ROWS + 2);
    let title = match m.intent {
        Intent::Reauth => format!(" Sign in again to {} ", m.source),
        Intent::Open | Intent::Console => format!(" IAM Identity Center sign-in: {} ", m.source),
    };
    frame.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [upper, lower] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(URL_ROWS)]).areas(inner);
    let [qr_area, _, text_area] = Layout::horizontal([
        Constraint::Length(qr_w),
        Constraint::Length(u16::from(qr_w > 0)),
        Constraint::Fill(1),
    ])
    .areas(upper);
    if let Some(q) = qr {
        // Dark modules on light ground whatever the terminal's colours.
        let style = if state.color {
            Style::default().fg(Color::Black).bg(Color::White)
        } else {
            Style::default()
        };
        let lines: Vec<Line> = q.into_iter().map(|l| Line::styled(l, style)).collect();
        frame.render_widget(Paragraph::new(lines), qr_area);
    }
    let left = countdown(state.now, Some(m.expires_at));
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Role     ", theme.dim()),
            Span::raw(m.profile.clone()),
        ]),
        Line::from(vec![
            Span::styled("Session  ", theme.dim()),
            Span::raw(m.source.clone()),
        ]),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Code     ", theme.dim()),
            Span::styled(m.user_code.clone(), theme.header()),
        ]),
    ];
    let expires = match left {
        Some(c) => Line::from(vec![
            Span::styled("Expires  ", theme.dim()),
            Span::styled(c.text, theme.urgency(c.urgency)),
        ]),
        None => Line::raw(""),
    };
    lines.push(expires);
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(SPINNER[state.spinner % SPINNER.len()], theme.key()),
        Span::raw(" Approve in the browser; waiting…"),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Esc", theme.key()),
        Span::styled(" cancel", theme.dim()),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
    let room = usize::from(lower.width);
    let url = match short_uri(&m.uri) {
        // Too narrow for the URL with the code: the page without it, where
        // the code is typed; never a URL broken in two.
        Some(short) if m.uri.width() > room && short.width() <= room => vec![
            Line::styled("Another device? Open this and type the code:", theme.dim()),
            Line::raw(short.to_string()),
        ],
        _ => vec![
            Line::styled(
                "Another device? Open this URL (or scan the code):",
                theme.dim(),
            ),
            Line::raw(m.uri.clone()),
        ],
    };
    frame.render_widget(Paragraph::new(url).wrap(Wrap { trim: false }), lower);
}

/// The verification URL without its `user_code` query (where the code is
/// typed by hand), when `uri` has one.
fn short_uri(uri: &str) -> Option<&str> {
    let (base, query) = uri.split_once('?')?;
    query
        .split('&')
        .any(|kv| kv.starts_with("user_code="))
        .then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_two_modules_a_line_with_a_quiet_zone() {
        let url = "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH";
        let lines = qr_lines(url).unwrap();
        let n = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L)
            .unwrap()
            .width();
        assert_eq!(lines.len(), (n + 2).div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == n + 2));
        // The quiet zone: the first column is blank, and the finder
        // pattern's top edge (7 dark modules) starts the second line's top half.
        assert!(lines.iter().all(|l| l.starts_with(' ')));
        assert!(lines[0].chars().skip(1).take(7).all(|c| c == '▄'));
    }

    #[test]
    fn the_short_uri_is_the_page_without_the_code() {
        assert_eq!(
            short_uri("https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH"),
            Some("https://device.sso.eu-west-1.amazonaws.com/")
        );
        assert_eq!(short_uri("https://x/?a=1"), None);
        assert_eq!(short_uri("https://x/"), None);
    }
}
