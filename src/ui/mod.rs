//! Drawing the picker: `render(&State, &mut Frame)`. Read-only over the
//! state; knows nothing of AWS. One file per part of the screen.

mod confirm;
mod header;
mod help;
mod list;
mod modal;
mod passphrase;
mod signin;
mod status;
mod text;
mod theme;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::{Modal, State, MIN_HEIGHT, MIN_WIDTH};
pub use theme::Theme;

/// Every key the `?` overlay lists for a picker with an old key (for tests).
pub fn help_keys() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    help::KEYS.iter().chain(std::iter::once(&help::ROTATE_KEY))
}

/// Draws the whole screen for `state` into `frame`.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let theme = Theme::new(state.color);
    let [head, list_area, status_area, footer] = Layout::vertical([
        Constraint::Length(state.header_rows()),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(state, &theme, frame, head);
    list::render(state, &theme, frame, list_area);
    status::render_status(state, &theme, frame, status_area);
    status::render_footer(state, &theme, frame, footer);
    if state.help {
        help::render(state, &theme, frame, area);
    }
    match state.modal() {
        Some(Modal::Mfa(m)) => modal::render(state, m, &theme, frame, area),
        Some(Modal::Passphrase(m)) => passphrase::render(state, m, &theme, frame, area),
        Some(Modal::SignIn(m)) => signin::render(state, m, &theme, frame, area),
        Some(Modal::Rotate(m)) => confirm::render(m, &theme, frame, area),
        None => {}
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let msg = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
    ];
    frame.render_widget(
        Paragraph::new(msg).centered().wrap(Wrap { trim: true }),
        area,
    );
}
