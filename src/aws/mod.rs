//! Talking to AWS. `sts` wraps the three STS calls rolepick makes, `iam`
//! the access-key calls of rotation, `federation` the console sign-in,
//! `sso` the IAM Identity Center OIDC device flow and portal calls, with
//! typed errors; nothing here knows about the UI, the cache or the vault.

pub mod federation;
pub mod iam;
pub mod sso;
pub mod sts;

use crate::secret::SecretString;
use std::time::SystemTime;

/// Temporary credentials (an MFA session or an assumed role).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
}

/// The runtime rolepick blocks on for SDK calls and serves the credential
/// endpoint with: one thread (the caller's), I/O and timers.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// RFC 3339 (UTC, seconds) as AWS and `credential_process` use it.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The first of `vars` that is set (and not empty), with its value, when
/// that value is not an http(s) URL with a host: the SDK would otherwise
/// fail at the first call with a misleading "cannot reach".
pub fn bad_endpoint_var(vars: &[&'static str]) -> Option<(&'static str, String)> {
    let (var, value) = vars.iter().find_map(|v| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(|s| (*v, s.to_string_lossy().into_owned()))
    })?;
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| {
        !h.is_empty()
            && !h.starts_with(':')
            && !h.chars().any(|c| c.is_whitespace() || c.is_control())
    }) && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    (!ok).then_some((var, value))
}
