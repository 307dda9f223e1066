//! The layering README's "Architecture" section draws, checked on the
//! sources: imports point one way (no module reaches itself again through
//! `crate::` paths), `cmd/` files do not import each other, `aws/`, `app/`
//! and `ui/` know nothing of the vault, and the leaves import no module
//! above them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directories whose files are separate nodes (`cmd::exec`, `app::state`).
const SPLIT: &[&str] = &[
    "cmd", "vault", "aws", "app", "config", "ui", "tui", "sso", "run", "admin", "picker", "engine",
    "warm",
];

/// Leaves: plain data and tools that import nothing of ours but each other.
const LEAVES: &[&str] = &[
    "model",
    "secret",
    "clock",
    "diag",
    "fsutil",
    "error",
    "ini",
    "timefmt",
    "warm::program",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/app/state.rs` -> `app::state`, `src/vault/mod.rs` -> `vault`,
/// `src/app/update/tests.rs` -> `app::update`.
fn node_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() > 1 && SPLIT.contains(&parts[0].as_str()) {
        parts.truncate(2);
        parts.join("::")
    } else {
        parts.truncate(1);
        parts.remove(0)
    }
}

/// The code of `file` outside its `#[cfg(test)]` module and comments.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` (and `super::b` inside a split directory) a file names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let nodes: BTreeSet<String> = files.iter().map(|f| node_of(f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name == "fixture.rs" {
            continue;
        }
        let me = node_of(f);
        let top = me.split("::").next().unwrap().to_string();
        let text = code(f);
        let mut targets = Vec::new();
        for (prefix, base) in [("crate::", None), ("super::", Some(top.as_str()))] {
            for (i, _) in text.match_indices(prefix) {
                let rest = &text[i + prefix.len()..];
                let path: Vec<&str> = rest
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .collect();
                let Some(first) = path.first() else { continue };
                let candidate = match base {
                    None if path.len() > 1 => format!("{first}::{}", path[1]),
                    None => first.to_string(),
                    Some(b) => format!("{b}::{first}"),
                };
                let target = if nodes.contains(&candidate) {
                    candidate
                } else if base.is_none() {
                    first.to_string()
                } else {
                    continue;
                };
                targets.push(target);
            }
        }
        for t in targets {
            let nested = t.starts_with(&format!("{me}::")) || me.starts_with(&format!("{t}::"));
            if t != me && nodes.contains(&t) && !nested {
                g.entry(me.clone()).or_default().insert(t);
            }
        }
        g.entry(me).or_default();
    }
    g
}

/// A path `from` ... back to `from`, if there is one.
fn cycle_through(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((n, path)) = stack.pop() {
        for t in g.get(&n).into_iter().flatten() {
            if t == from {
                let mut p = path.clone();
                p.push(t.clone());
                return Some(p);
            }
            if seen.insert(t.clone()) {
                let mut p = path.clone();
                p.push(t.clone());
                stack.push((t.clone(), p));
            }
        }
    }
    None
}

#[test]
fn imports_point_one_way() {
    let g = graph();
    assert!(g.len() > 40, "the walk found the sources: {:?}", g.keys());
    let cycles: Vec<String> = g
        .keys()
        .filter_map(|n| cycle_through(&g, n))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn cmd_files_do_not_import_each_other() {
    let g = graph();
    let bad: Vec<String> = g
        .iter()
        .filter(|(n, _)| n.starts_with("cmd::"))
        .flat_map(|(n, ts)| {
            ts.iter()
                .filter(|t| t.starts_with("cmd::"))
                .map(move |t| format!("{n} -> {t}"))
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn aws_app_and_ui_know_nothing_of_the_vault() {
    let g = graph();
    let bad: Vec<String> = g
        .iter()
        .filter(|(n, _)| ["aws", "app", "ui"].iter().any(|d| n.starts_with(d)))
        .flat_map(|(n, ts)| {
            ts.iter()
                .filter(|t| t.starts_with("vault"))
                .map(move |t| format!("{n} -> {t}"))
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn leaves_import_only_leaves() {
    let g = graph();
    let bad: Vec<String> = LEAVES
        .iter()
        .flat_map(|leaf| {
            g.get(*leaf)
                .into_iter()
                .flatten()
                .filter(|t| !LEAVES.contains(&t.as_str()))
                .map(move |t| format!("{leaf} -> {t}"))
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}
