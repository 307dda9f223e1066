//! Small text helpers: fitting to a width and highlighting matched characters.

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthChar;

/// `s` cut to `width` columns (with `…` when cut) and padded with spaces.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        out.push_str(s);
        used = total;
    } else if width > 0 {
        for c in s.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// Spans for `s` fitted to `width`, with the chars whose index (counted from
/// `offset` in the haystack) is in `matched` drawn in `hl`.
pub fn highlighted<'a>(
    s: &str,
    width: usize,
    offset: u32,
    matched: &[u32],
    base: Style,
    hl: Style,
) -> Vec<Span<'a>> {
    let fitted = fit(s, width);
    if matched.is_empty() {
        return vec![Span::styled(fitted, base)];
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_hl = false;
    for (i, c) in fitted.chars().enumerate() {
        let idx = offset + u32::try_from(i).unwrap_or(u32::MAX);
        let is_hl = i < s.chars().count() && matched.binary_search(&idx).is_ok() && c != '…';
        if is_hl != run_hl && !run.is_empty() {
            spans.push(Span::styled(
                std::mem::take(&mut run),
                if run_hl { hl } else { base },
            ));
        }
        run_hl = is_hl;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, if run_hl { hl } else { base }));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_pads_and_cuts_with_an_ellipsis() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
    }

    #[test]
    fn highlighted_splits_runs() {
        let s = highlighted(
            "admin",
            5,
            10,
            &[10, 11, 14],
            Style::new(),
            Style::new().bold(),
        );
        let texts: Vec<&str> = s.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["ad", "mi", "n"]);
    }
}
