//! Talking to AWS. `sts` wraps the three STS calls rolepick makes, `iam`
//! the access-key calls of rotation, `sso` the IAM Identity Center OIDC
//! device flow and portal calls, with typed errors; nothing here knows
//! about the UI, the cache or the vault.

pub mod iam;
pub mod sso;
pub mod sts;

use crate::vault::secret::SecretString;
use std::time::SystemTime;

/// Temporary credentials (an MFA session or an assumed role).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
}

/// RFC 3339 (UTC, seconds) as AWS and `credential_process` use it.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
