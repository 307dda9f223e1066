//! The IAM calls of key rotation (`ListAccessKeys`, `CreateAccessKey`,
//! `DeleteAccessKey`) through aws-sdk-iam, with failures classified into
//! the same typed error as STS ([`IamError`]).
//!
//! Like `sts`, the client is built straight from a config builder; the
//! endpoint comes from `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL` when set.
//! IAM is a global service, signed for `us-east-1`.

use super::sts::{classify, Signer, MAX_ATTEMPTS};
use crate::vault::secret::{LongLivedKey, SecretString};
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::timeout::TimeoutConfig;
use aws_sdk_iam::config::{BehaviorVersion, Region};
use std::time::{Duration, SystemTime};

/// Why an IAM call failed: AWS's code and message, throttling after
/// retries, unreachable, or a reply rolepick did not understand.
pub use super::sts::StsError as IamError;

/// IAM's signing region (the service is global).
const IAM_REGION: &str = "us-east-1";

/// The IAM endpoint override from the environment, if any.
pub fn endpoint_override() -> Option<String> {
    ["AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Human-readable name of the endpoint calls go to.
pub fn endpoint_name() -> String {
    endpoint_override().unwrap_or_else(|| "https://iam.amazonaws.com".into())
}

pub fn client(signer: &Signer<'_>) -> aws_sdk_iam::Client {
    let creds = aws_credential_types::Credentials::new(
        signer.access_key_id,
        signer.secret_access_key.expose(),
        signer.session_token.map(|t| t.expose().to_string()),
        None,
        "rolepick",
    );
    let mut b = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(IAM_REGION))
        .credentials_provider(creds)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(url) = endpoint_override() {
        b = b.endpoint_url(url);
    }
    aws_sdk_iam::Client::from_conf(b.build())
}

/// One access key of a user, as `ListAccessKeys` reports it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: Option<SystemTime>,
}

impl KeyMeta {
    pub fn is_active(&self) -> bool {
        self.status == "Active"
    }
}

/// `iam:ListAccessKeys` for `user`.
pub async fn list_access_keys(
    client: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<KeyMeta>, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|m| {
            Some(KeyMeta {
                access_key_id: m.access_key_id()?.to_string(),
                status: m.status().map_or("Active", |s| s.as_str()).to_string(),
                created: m.create_date().and_then(|d| SystemTime::try_from(*d).ok()),
            })
        })
        .collect())
}

/// `iam:CreateAccessKey` for `user`: the new key, secret included. Tried
/// once, never retried: a retry after a lost reply would create a second key.
pub async fn create_access_key(
    client: &aws_sdk_iam::Client,
    user: &str,
) -> Result<LongLivedKey, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .create_access_key()
        .user_name(user)
        .customize()
        .config_override(
            aws_sdk_iam::Config::builder()
                .retry_config(RetryConfig::standard().with_max_attempts(1)),
        )
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    let k = out.access_key().ok_or_else(|| IamError::Other {
        endpoint,
        detail: "no access key in the CreateAccessKey response".into(),
    })?;
    Ok(LongLivedKey {
        access_key_id: k.access_key_id().to_string(),
        secret_access_key: SecretString::new(k.secret_access_key().to_string()),
    })
}

/// `iam:DeleteAccessKey`.
pub async fn delete_access_key(
    client: &aws_sdk_iam::Client,
    user: &str,
    access_key_id: &str,
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    client
        .delete_access_key()
        .user_name(user)
        .access_key_id(access_key_id)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(())
}

/// The user name in an IAM user ARN (`arn:aws:iam::1:user/path/name` → `name`).
pub fn user_name_of(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":user/")?.1;
    let name = rest.rsplit('/').next()?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::user_name_of;

    #[test]
    fn user_name_comes_from_the_last_path_segment() {
        assert_eq!(
            user_name_of("arn:aws:iam::123456789012:user/primary"),
            Some("primary")
        );
        assert_eq!(
            user_name_of("arn:aws:iam::123456789012:user/ops/jane"),
            Some("jane")
        );
        assert_eq!(user_name_of("arn:aws:sts::1:assumed-role/r/s"), None);
    }
}
