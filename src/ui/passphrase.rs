//! The vault passphrase modal: names the source and the vault file, shows
//! one `•` per character typed (never the characters), and the reason the
//! last passphrase did not work.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::modal::{centered, draw_box, status_line};
use super::Theme;
use crate::app::flow::{Intent, PassphraseStep};
use crate::app::state::State;

/// Label column, then the value.
const LABEL: usize = 12;

pub fn render(state: &State, m: &PassphraseStep, theme: &Theme, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 64, 11);
    let title = match m.intent {
        Intent::Open | Intent::Console => format!(" Unlock the vault for {} ", m.source),
        Intent::Reauth => format!(" Re-authenticate {}: unlock the vault ", m.source),
    };
    // The mask: as many dots as characters, cut to the width of the box.
    let room = usize::from(rect.width.saturating_sub(2)).saturating_sub(LABEL + 1);
    let typed = m.input.chars();
    let mask = if typed == 0 {
        Span::styled("type the passphrase", theme.dim())
    } else if typed > room {
        Span::styled(
            format!("{}…", "•".repeat(room.saturating_sub(1))),
            theme.header(),
        )
    } else {
        Span::styled("•".repeat(typed), theme.header())
    };
    let label = |s: &str| Span::styled(format!("{s:<LABEL$}"), theme.dim());
    let mut lines = vec![
        Line::from(vec![label("Role"), Span::raw(m.profile.clone())]),
        Line::from(vec![
            label("Vault"),
            Span::raw(tail(&m.vault.display().to_string(), room)),
        ]),
        Line::raw(""),
        Line::from(vec![label("Passphrase"), mask]),
        Line::raw(""),
    ];
    lines.push(status_line(
        state,
        theme,
        m.submitted.is_some(),
        m.error.as_deref(),
        " Unlocking the vault…",
        " unlock  ",
    ));
    draw_box(frame, rect, title, lines);
}

/// The end of `path` in at most `width` characters, `…` marking a cut: the
/// file name is what tells vaults apart.
fn tail(path: &str, width: usize) -> String {
    let n = path.chars().count();
    if n <= width {
        return path.to_string();
    }
    let keep = width.saturating_sub(1);
    let mut out = String::from("…");
    out.extend(path.chars().skip(n - keep));
    out
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn long_vault_paths_keep_their_end() {
        assert_eq!(tail("/a/vault.age", 20), "/a/vault.age");
        assert_eq!(tail("/tmp/x/home/vault.age", 11), "…/vault.age");
        assert_eq!(tail("abc", 0), "…");
    }
}
