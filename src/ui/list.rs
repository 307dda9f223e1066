//! The list: a column heading, account headers, role rows with their
//! countdowns; matched filter characters highlighted.

use nucleo_matcher::Matcher;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::{fit, highlighted};
use super::Theme;
use crate::app::list::{field, Line};
use crate::app::state::{countdown, State};

const EXPIRES_W: usize = 8;
const REGION_W: usize = 14;

/// Column widths: role, profile, region, expires.
fn columns(width: usize) -> (usize, usize, usize) {
    let rest = width.saturating_sub(2 + EXPIRES_W + REGION_W + 3);
    let role = (rest * 2 / 5).max(4);
    (role, rest.saturating_sub(role), REGION_W)
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let list = &state.list;
    let width = usize::from(area.width);
    let (role_w, prof_w, region_w) = columns(width);
    let mut lines = Vec::with_capacity(area.height.into());
    lines.push(TLine::styled(
        format!(
            "  {} {} {} {:>EXPIRES_W$}",
            fit("ROLE", role_w),
            fit("PROFILE", prof_w),
            fit("REGION", region_w),
            "EXPIRES"
        ),
        theme.dim(),
    ));
    let rows = usize::from(area.height.saturating_sub(1));
    if list.lines().is_empty() {
        let msg = if list.rows().is_empty() {
            "  No profiles configured: add roles to ~/.aws/config or config.toml"
        } else {
            "  Nothing matches the filter (Esc clears it)"
        };
        lines.push(TLine::styled(msg, theme.dim()));
    }
    let mut matcher = list
        .filter()
        .is_active()
        .then(|| Matcher::new(nucleo_matcher::Config::DEFAULT));
    let mut indices = Vec::new();
    for (i, line) in list.visible(rows) {
        let is_sel = list.cursor() == Some(i);
        // Indices of matched chars for this line's row (a header uses the row after it).
        indices.clear();
        if let Some(m) = matcher.as_mut() {
            let row = match line {
                Line::Role(r) => Some(*r),
                Line::Header(_) => match list.lines().get(i + 1) {
                    Some(Line::Role(r)) => Some(*r),
                    _ => None,
                },
            };
            if let Some(r) = row {
                let h = &list.rows()[r].haystack;
                list.filter()
                    .pattern
                    .indices(h.text.slice(..), m, &mut indices);
                indices.sort_unstable();
                indices.dedup();
            }
        }
        match line {
            Line::Header(g) => {
                let g = &list.groups()[*g];
                let base = theme.header();
                let hl = theme.matched();
                let mut spans = vec![Span::styled("▾ ", theme.dim())];
                let r0 = match list.lines().get(i + 1) {
                    Some(Line::Role(r)) => Some(&list.rows()[*r].haystack),
                    _ => None,
                };
                let off = |f: usize| r0.map_or(0, |h| h.fields[f].0);
                if let Some(n) = &g.name {
                    let w = n.chars().count();
                    spans.extend(highlighted(
                        n,
                        w,
                        off(field::ACCOUNT_NAME),
                        &indices,
                        base,
                        hl,
                    ));
                    spans.push(Span::raw(" "));
                }
                if let Some(id) = &g.id {
                    let w = id.chars().count();
                    spans.extend(highlighted(
                        id,
                        w,
                        off(field::ACCOUNT_ID),
                        &indices,
                        theme.dim(),
                        hl,
                    ));
                } else if g.name.is_none() {
                    spans.push(Span::styled(g.label().to_string(), base));
                }
                if let Some(group) = &g.group {
                    spans.push(Span::styled(" · ", theme.dim()));
                    let w = group.chars().count();
                    spans.extend(highlighted(
                        group,
                        w,
                        off(field::GROUP),
                        &indices,
                        theme.dim(),
                        hl,
                    ));
                }
                if let Some(region) = &g.region {
                    spans.push(Span::styled(format!(" · {region}"), theme.dim()));
                }
                if !g.tags.is_empty() {
                    let tags = g.tags.join(" ");
                    spans.push(Span::styled(" · ", theme.dim()));
                    let w = tags.chars().count();
                    spans.extend(highlighted(
                        &tags,
                        w,
                        off(field::TAGS),
                        &indices,
                        theme.dim(),
                        hl,
                    ));
                }
                lines.push(TLine::from(spans));
            }
            Line::Role(r) => {
                let row = &list.rows()[*r];
                let base = if is_sel {
                    theme.selected()
                } else {
                    Style::new()
                };
                let hl = if is_sel {
                    theme
                        .selected()
                        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                } else {
                    theme.matched()
                };
                let h = &row.haystack;
                // Cursor, then a dot when a rolepick shell for this role is open.
                let live = state.live_shells.get(&row.profile).is_some_and(|n| *n > 0);
                let mut spans = vec![
                    Span::styled(if is_sel { "▶" } else { " " }, base),
                    Span::styled(
                        if live { "●" } else { " " },
                        if is_sel { base } else { theme.matched() },
                    ),
                ];
                spans.extend(highlighted(
                    &row.role,
                    role_w,
                    h.fields[field::ROLE].0,
                    &indices,
                    base,
                    hl,
                ));
                spans.push(Span::styled(" ", base));
                spans.extend(highlighted(
                    &row.profile,
                    prof_w,
                    h.fields[field::PROFILE].0,
                    &indices,
                    base,
                    hl,
                ));
                spans.push(Span::styled(" ", base));
                spans.push(Span::styled(
                    fit(row.region.as_deref().unwrap_or(""), region_w),
                    base,
                ));
                spans.push(Span::styled(" ", base));
                match countdown(state.now, state.role_expiry.get(&row.profile).copied()) {
                    Some(c) => spans.push(Span::styled(
                        format!("{:>EXPIRES_W$}", c.text),
                        if is_sel {
                            base
                        } else {
                            theme.urgency(c.urgency)
                        },
                    )),
                    None => spans.push(Span::styled(" ".repeat(EXPIRES_W), base)),
                }
                lines.push(TLine::from(spans));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}
