//! The `R` confirmation: "Rotate the key of source X now? y/n".

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::modal::centered;
use super::Theme;
use crate::app::state::RotateModal;

pub fn render(m: &RotateModal, theme: &Theme, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 56, 6);
    let lines = vec![
        Line::from(vec![
            Span::raw("Rotate the key of source "),
            Span::styled(m.source.clone(), theme.header()),
            Span::raw(" now?"),
        ]),
        Line::styled(
            format!("It is {} days old. `rolepick rotate` runs here.", m.age),
            theme.dim(),
        ),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", theme.key()),
            Span::styled(" rotate  ", theme.dim()),
            Span::styled("n Esc", theme.key()),
            Span::styled(" cancel", theme.dim()),
        ]),
    ];
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Rotate key ")),
        rect,
    );
}
