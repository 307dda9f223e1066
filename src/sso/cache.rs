//! The IAM Identity Center token cache shared with the AWS CLI v2 and every
//! SDK: `~/.aws/sso/cache/<sha1 hex>.json`, keyed by the `sso-session`
//! name (legacy inline profiles: by the start URL).
//!
//! It exists so that one browser sign-in serves rolepick, the AWS CLI and
//! boto3 alike, and so that a single-use refresh token is never lost: a
//! refresh by any of them is written back here. Fields as botocore writes
//! them (`startUrl`, `region`, `accessToken`, `expiresAt`, `clientId`,
//! `clientSecret`, `registrationExpiresAt`, `refreshToken`); fields we do not
//! know are kept when writing back. Files are written 0600 through a temp
//! file and a rename in a directory that was checked (ours, not writable by
//! others); a directory rolepick did not create is never chmodded.

use crate::error::Error;
use crate::fsutil::{self, Links, Private, PrivateDir};
use crate::secret::SecretString;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// One cached token, as the AWS CLI v2 keeps it.
#[derive(Clone)]
pub struct CachedToken {
    pub start_url: Option<String>,
    pub region: Option<String>,
    pub access_token: SecretString,
    pub expires_at: SystemTime,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub registration_expires_at: Option<SystemTime>,
    pub refresh_token: Option<SecretString>,
    /// Fields rolepick does not use, written back unchanged.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("start_url", &self.start_url)
            .field("region", &self.region)
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("registration_expires_at", &self.registration_expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CachedToken {
    /// True when the token can be refreshed at `now`: a refresh token, the
    /// client's id and secret, and a registration that has not expired.
    pub fn refreshable(&self, now: SystemTime) -> bool {
        self.refresh_token.is_some()
            && self.client_id.is_some()
            && self.client_secret.is_some()
            && self.registration_expires_at.is_some_and(|t| t > now)
    }
}

/// The cache file name for a session name or (legacy) start URL.
pub fn cache_key(identifier: &str) -> String {
    Sha1::digest(identifier.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses the timestamps found in these files: RFC 3339 with `Z`,
/// fractional seconds or a `±HH:MM` offset, and the old CLI's `...UTC`.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (base, offset_secs): (String, i64) = if let Some(b) = s.strip_suffix("UTC") {
        (format!("{b}Z"), 0)
    } else if s.ends_with('Z') || s.ends_with('z') {
        (s.to_string(), 0)
    } else if s.len() > 6 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-') {
        let (b, off) = s.split_at(s.len() - 6);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let h: i64 = off.get(1..3)?.parse().ok()?;
        let m: i64 = off.get(4..6)?.parse().ok()?;
        (format!("{b}Z"), sign * (h * 3600 + m * 60))
    } else {
        return None;
    };
    let t = humantime::parse_rfc3339_weak(base.trim_end_matches(['Z', 'z'])).ok()?;
    let off = Duration::from_secs(offset_secs.unsigned_abs());
    if offset_secs >= 0 {
        t.checked_sub(off)
    } else {
        t.checked_add(off)
    }
}

/// `2026-01-02T03:04:05Z`, as botocore writes it.
pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Where the cache lives, and how to read and write it.
#[derive(Debug, Clone)]
pub struct TokenCache {
    dir: PathBuf,
}

impl TokenCache {
    /// `$HOME/.aws/sso/cache`, as every AWS tool has it.
    pub fn discover() -> Result<TokenCache, Error> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
            .ok_or_else(|| {
                Error::Other(
                    "cannot find your home directory for ~/.aws/sso/cache; set HOME".into(),
                )
            })?;
        Ok(TokenCache::at(home.join(".aws/sso/cache")))
    }

    pub fn at(dir: PathBuf) -> TokenCache {
        TokenCache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for `identifier` (session name, or start URL for legacy profiles).
    pub fn path(&self, identifier: &str) -> PathBuf {
        self.dir.join(format!("{}.json", cache_key(identifier)))
    }

    /// The cached token of `identifier`; `Ok(None)` when there is none.
    /// A file readable by others or not ours is refused with what to do.
    pub fn read(&self, identifier: &str) -> Result<Option<CachedToken>, Error> {
        let path = self.path(identifier);
        let mut f = match fsutil::open_private(&path) {
            Private::File(f) => f,
            Private::Missing => return Ok(None),
            Private::Refused(why) => {
                let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
                // chmod follows a link: it would change the target and fix nothing.
                let fix = if link {
                    format!(
                        "Remove the link (`rm {}`; this leaves its target alone) and sign in again.",
                        path.display()
                    )
                } else {
                    format!(
                        "Run `chmod 600 {}` if it is yours, or remove it and sign in again.",
                        path.display()
                    )
                };
                return Err(Error::Auth(format!(
                    "SSO token cache {} is not usable: {why}; rolepick will not use it. {fix}",
                    path.display(),
                )));
            }
        };
        let mut text = Zeroizing::new(String::new());
        f.read_to_string(&mut text)
            .map_err(|e| Error::io("read the SSO token cache", &path, &e))?;
        parse(&text).map(Some).map_err(|what| {
            Error::Auth(format!(
                "SSO token cache {} is not usable ({what}); remove it and sign in again.",
                path.display()
            ))
        })
    }

    /// Writes `token` for `identifier` atomically, mode 0600, keeping its extra fields.
    pub fn write(&self, identifier: &str, token: &CachedToken) -> Result<(), Error> {
        let dir = PrivateDir::ensure(&self.dir, Links::Follow, "the SSO token cache directory")?;
        let json = Zeroizing::new(to_json(token));
        dir.write_atomic(format!("{}.json", cache_key(identifier)), json.as_bytes())
    }

    /// Removes the token of `identifier` (sign-out). Missing is fine.
    pub fn remove(&self, identifier: &str) -> Result<(), Error> {
        let path = self.path(identifier);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove", &path, &e))
            }
            _ => Ok(()),
        }
    }
}

fn take_str(m: &mut Map<String, Value>, key: &str) -> Option<Zeroizing<String>> {
    match m.remove(key) {
        Some(Value::String(s)) => Some(Zeroizing::new(s)),
        Some(other) => {
            m.insert(key.to_string(), other);
            None
        }
        None => None,
    }
}

/// Parses a cache file; the error says which field is wrong (never its value).
pub fn parse(text: &str) -> Result<CachedToken, String> {
    let v: Value = serde_json::from_str(text).map_err(|_| "not valid JSON".to_string())?;
    let Value::Object(mut m) = v else {
        return Err("not a JSON object".into());
    };
    let access = take_str(&mut m, "accessToken").ok_or("no accessToken")?;
    let expires = take_str(&mut m, "expiresAt").ok_or("no expiresAt")?;
    let expires_at = parse_time(&expires).ok_or("expiresAt is not a timestamp")?;
    let registration_expires_at = match take_str(&mut m, "registrationExpiresAt") {
        Some(s) => Some(parse_time(&s).ok_or("registrationExpiresAt is not a timestamp")?),
        None => None,
    };
    let secret = |z: Zeroizing<String>| SecretString::new(z.as_str().to_string());
    Ok(CachedToken {
        start_url: take_str(&mut m, "startUrl").map(|s| s.to_string()),
        region: take_str(&mut m, "region").map(|s| s.to_string()),
        access_token: secret(access),
        expires_at,
        client_id: take_str(&mut m, "clientId").map(|s| s.to_string()),
        client_secret: take_str(&mut m, "clientSecret").map(secret),
        registration_expires_at,
        refresh_token: take_str(&mut m, "refreshToken").map(secret),
        extra: m,
    })
}

/// The file's JSON text (holds secrets: the caller zeroizes it).
pub fn to_json(t: &CachedToken) -> String {
    let mut m = t.extra.clone();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v.to_string()));
        }
    };
    put("startUrl", t.start_url.as_deref());
    put("region", t.region.as_deref());
    put("accessToken", Some(t.access_token.expose()));
    put("expiresAt", Some(&format_time(t.expires_at)));
    put("clientId", t.client_id.as_deref());
    put(
        "clientSecret",
        t.client_secret.as_ref().map(SecretString::expose),
    );
    put(
        "registrationExpiresAt",
        t.registration_expires_at.map(format_time).as_deref(),
    );
    put(
        "refreshToken",
        t.refresh_token.as_ref().map(SecretString::expose),
    );
    let mut v = Value::Object(m);
    // Serialising a map of strings cannot fail.
    let text = serde_json::to_string(&v).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        for k in ["accessToken", "clientSecret", "refreshToken"] {
            if let Some(Value::String(s)) = m.get_mut(k) {
                zeroize::Zeroize::zeroize(s);
            }
        }
    }
    text
}

/// Seconds since the epoch, for expiries given that way by AWS.
pub fn from_epoch_secs(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const BOTOCORE: &str = r#"{"startUrl": "https://d-1234.awsapps.com/start", "region": "eu-west-1", "accessToken": "aoa-secret", "expiresAt": "2026-01-02T03:04:05Z", "clientId": "cid", "clientSecret": "csec", "registrationExpiresAt": "2026-03-01T00:00:00Z", "refreshToken": "aor-secret", "somethingNew": {"kept": true}}"#;

    #[test]
    fn cache_key_is_the_sha1_hex_of_the_session_name() {
        // sha1("my-sso") as the AWS CLI names ~/.aws/sso/cache/<key>.json.
        assert_eq!(
            cache_key("my-sso"),
            "0ad374308c5a4e22f723adf10145eafad7c4031c"
        );
        assert_eq!(cache_key("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn reads_every_field_botocore_writes_and_keeps_unknown_ones() {
        let t = parse(BOTOCORE).unwrap();
        assert_eq!(
            t.start_url.as_deref(),
            Some("https://d-1234.awsapps.com/start")
        );
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
        assert_eq!(t.access_token.expose(), "aoa-secret");
        assert_eq!(format_time(t.expires_at), "2026-01-02T03:04:05Z");
        assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "aor-secret");
        let back: Value = serde_json::from_str(&to_json(&t)).unwrap();
        let orig: Value = serde_json::from_str(BOTOCORE).unwrap();
        assert_eq!(back, orig, "a round trip changes nothing");
    }

    #[test]
    fn old_and_offset_timestamps_are_understood() {
        let z = parse_time("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_time("2026-01-02T03:04:05UTC"), Some(z));
        assert_eq!(parse_time("2026-01-02T04:04:05+01:00"), Some(z));
        assert_eq!(parse_time("2026-01-02T03:04:05.000Z"), Some(z));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn debug_output_never_shows_tokens_or_the_client_secret() {
        let shown = format!("{:?}", parse(BOTOCORE).unwrap());
        for s in ["aoa-secret", "aor-secret", "csec"] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert!(shown.contains("cid"));
    }

    #[test]
    fn a_token_is_written_0600_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(tmp.path().join(".aws/sso/cache"));
        cache.write("corp", &parse(BOTOCORE).unwrap()).unwrap();
        let path = cache.path("corp");
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{}.json", cache_key("corp"))
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(cache.dir()), 0o700);
        let back = cache.read("corp").unwrap().unwrap();
        assert_eq!(back.access_token.expose(), "aoa-secret");
        assert_eq!(back.extra["somethingNew"]["kept"], Value::Bool(true));
        assert!(cache.read("other").unwrap().is_none());
    }

    #[test]
    fn a_token_file_readable_by_others_is_refused_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(tmp.path().join("c"));
        cache.write("corp", &parse(BOTOCORE).unwrap()).unwrap();
        std::fs::set_permissions(cache.path("corp"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let e = cache.read("corp").unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        assert!(!e.contains("aoa-secret"), "{e}");
    }

    #[test]
    fn a_symlink_at_the_token_path_is_refused_with_advice_to_remove_the_link() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = TokenCache::at(tmp.path().join("c"));
        cache.write("corp", &parse(BOTOCORE).unwrap()).unwrap();
        let target = tmp.path().join("elsewhere.json");
        std::fs::rename(cache.path("corp"), &target).unwrap();
        std::os::unix::fs::symlink(&target, cache.path("corp")).unwrap();
        let e = cache.read("corp").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(
            e.contains(&format!("rm {}", cache.path("corp").display())),
            "{e}"
        );
        assert!(!e.contains("chmod"), "chmod follows the link: {e}");
        assert!(!e.contains("aoa-secret"), "{e}");
    }

    #[test]
    fn a_cache_dir_writable_by_others_is_not_written_to_nor_chmodded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = TokenCache::at(dir.clone());
        assert!(cache.write("corp", &parse(BOTOCORE).unwrap()).is_err());
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o777
        );
        assert!(!cache.path("corp").exists());
    }

    #[test]
    fn corrupt_file_error_names_the_field_not_the_value() {
        let e = parse(r#"{"accessToken": "aoa-secret", "expiresAt": "soon"}"#).unwrap_err();
        assert_eq!(e, "expiresAt is not a timestamp");
    }
}
