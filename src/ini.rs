//! A small, strict reader for the AWS shared config and credentials files
//! (INI dialect of botocore): `[section]`, `key = value`, `#`/`;` comment
//! lines, indented sub-properties (skipped). Keeps line numbers for errors.

use crate::error::Error;
use std::borrow::Cow;
use std::path::Path;

/// `key = value`, borrowed from the file text (no copies: config files with
/// thousands of profiles are read on every run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Lower-cased key.
    pub key: Cow<'a, str>,
    pub value: &'a str,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// Header text between the brackets, trimmed, inner whitespace
    /// collapsed (`profile admin`, `default`).
    pub header: Cow<'a, str>,
    pub line: usize,
    pub entries: Vec<Entry<'a>>,
}

impl Section<'_> {
    pub fn get(&self, key: &str) -> Option<&Entry<'_>> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

fn collapse_ws(s: &str) -> Cow<'_, str> {
    if s.contains("  ") || s.contains('\t') {
        Cow::Owned(s.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        Cow::Borrowed(s)
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Parses `text` (the contents of `path`). Errors name `path:line` and quote
/// the offending line.
pub fn parse<'a>(path: &Path, text: &'a str) -> Result<Vec<Section<'a>>, Error> {
    let mut sections: Vec<Section<'a>> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) && !sections.is_empty() {
            // Sub-property of a nested key (`s3 =\n  max_concurrent_requests = 10`)
            // or a continuation line: nothing rolepick reads.
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(header) = rest.strip_suffix(']') else {
                return Err(malformed(
                    path,
                    line,
                    raw,
                    "a section header must end with `]`",
                ));
            };
            let header = header.trim();
            if header.is_empty() {
                return Err(malformed(path, line, raw, "empty section name"));
            }
            sections.push(Section {
                header: collapse_ws(header),
                line,
                entries: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = trimmed
            .bytes()
            .position(|b| b == b'=')
            .map(|i| (&trimmed[..i], &trimmed[i + 1..]))
        else {
            return Err(malformed(
                path,
                line,
                raw,
                "expected `[section]` or `key = value`",
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(malformed(path, line, raw, "missing key before `=`"));
        }
        let Some(section) = sections.last_mut() else {
            return Err(malformed(
                path,
                line,
                raw,
                "`key = value` before any `[section]` header",
            ));
        };
        section.entries.push(Entry {
            key: lower(key),
            value: value.trim(),
            line,
        });
    }
    Ok(sections)
}

fn malformed(path: &Path, line: usize, raw: &str, why: &str) -> Error {
    // Never quote a line that may hold a secret.
    let shown = if raw.to_ascii_lowercase().contains("secret") || raw.contains("token") {
        "<line hidden: it may hold a secret>".to_string()
    } else {
        format!("{:?}", raw.trim())
    };
    Error::Config(format!(
        "malformed {}:{line}: {why}, found {shown}. Fix that line (format: `[profile NAME]` headers and `key = value` lines).",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn p() -> PathBuf {
        PathBuf::from("/home/u/.aws/config")
    }

    #[test]
    fn reads_sections_keys_and_lines() {
        let text = "# c\n[profile admin]\nrole_arn = arn:x\n  \n; c2\nRegion=us-east-1\n[default]\nregion = eu-west-1\n";
        let s = parse(&p(), text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].header, "profile admin");
        assert_eq!(s[0].line, 2);
        assert_eq!(s[0].get("region").unwrap().value, "us-east-1");
        assert_eq!(s[0].get("region").unwrap().line, 6);
        assert_eq!(s[1].header, "default");
    }

    #[test]
    fn skips_nested_sub_properties() {
        let text = "[default]\ns3 =\n  max_concurrent_requests = 10\nregion = x\n";
        let s = parse(&p(), text).unwrap();
        assert_eq!(s[0].entries.len(), 2);
        assert_eq!(s[0].get("region").unwrap().value, "x");
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let err = parse(&p(), "[profile a]\nregion = x\nthis is wrong\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/home/u/.aws/config:3"), "{msg}");
        assert!(msg.contains("\"this is wrong\""), "{msg}");
    }

    #[test]
    fn unterminated_header_is_an_error() {
        let msg = parse(&p(), "[profile a\n").unwrap_err().to_string();
        assert!(msg.contains(":1:"), "{msg}");
    }

    #[test]
    fn key_before_section_is_an_error() {
        let msg = parse(&p(), "region = x\n").unwrap_err().to_string();
        assert!(msg.contains("before any"), "{msg}");
    }

    #[test]
    fn malformed_secret_line_is_not_quoted() {
        let msg = parse(&p(), "aws_secret_access_key wJalrXUtnFEMI\n")
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("wJalr"), "{msg}");
    }
}
