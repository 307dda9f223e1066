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

/// `s` broken at spaces into lines of at most `width` columns (a word
/// longer than that is cut into pieces), for text a box must show whole.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let (lw, ww) = (line.width(), word.width());
        if !line.is_empty() && lw + 1 + ww <= width {
            line.push(' ');
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
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
    fn wrap_breaks_at_spaces_and_cuts_only_a_word_too_long() {
        assert_eq!(
            wrap("filter: account, id, role", 12),
            ["filter:", "account, id,", "role"]
        );
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), [""]);
        assert!(wrap("a b c d e f g h", 4).iter().all(|l| l.len() <= 4));
    }

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
