//! The IAM calls of key rotation (`ListAccessKeys`, `CreateAccessKey`,
//! `DeleteAccessKey`) through aws-sdk-iam, with failures classified into
//! the same typed error as STS ([`IamError`]).
//!
//! Like `sts`, the client is built straight from a config builder; the
//! endpoint comes from `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL` when set.
//! IAM is a global service, signed for `us-east-1`.

use super::sts::{classify, retry_config, sdk_credentials, timeout_config, Signer};
use crate::secret::{LongLivedKey, SecretString};
use aws_sdk_iam::config::{BehaviorVersion, Region};
use std::time::SystemTime;

/// Why an IAM call failed: AWS's code and message, throttling after
/// retries, unreachable, or a reply rolepick did not understand.
pub use super::sts::StsError as IamError;

/// IAM's signing region (the service is global).
const IAM_REGION: &str = "us-east-1";

/// The IAM endpoint override from the environment, if any.
/// Where the IAM endpoint can be overridden, first one wins.
pub const ENDPOINT_VARS: [&str; 2] = ["AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"];

pub fn endpoint_override() -> Option<String> {
    ENDPOINT_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Human-readable name of the endpoint calls go to.
pub fn endpoint_name() -> String {
    endpoint_override().unwrap_or_else(|| "https://iam.amazonaws.com".into())
}

pub fn client(signer: &Signer<'_>) -> aws_sdk_iam::Client {
    let mut b = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(IAM_REGION))
        .credentials_provider(sdk_credentials(signer))
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = endpoint_override() {
        if let Some(http) = super::http_client(&url) {
            b = b.http_client(http);
        }
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
    let out =
        client
            .create_access_key()
            .user_name(user)
            .customize()
            .config_override(aws_sdk_iam::Config::builder().retry_config(
                aws_sdk_iam::config::retry::RetryConfig::standard().with_max_attempts(1),
            ))
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

// --- `rolepick setup` ---------------------------------------------------------

fn absent(e: IamError) -> Result<(), IamError> {
    match e {
        IamError::Service { code, .. } if code == "NoSuchEntity" => Ok(()),
        other => Err(other),
    }
}

/// `iam:GetUser`: the user's ARN, or `None` when there is no such user.
pub async fn get_user(
    client: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Option<String>, IamError> {
    let endpoint = endpoint_name();
    match client.get_user().user_name(user).send().await {
        Ok(out) => Ok(out.user().map(|u| u.arn().to_string())),
        Err(e) => absent(classify(e, &endpoint)).map(|()| None),
    }
}

/// `iam:CreateUser`: the new user's ARN.
pub async fn create_user(client: &aws_sdk_iam::Client, user: &str) -> Result<String, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .create_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(out.user().map(|u| u.arn().to_string()).unwrap_or_default())
}

/// `iam:ListMFADevices`: serials of the user's enabled MFA devices.
pub async fn list_mfa_devices(
    client: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<String>, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .list_mfa_devices()
        .user_name(user)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(out
        .mfa_devices()
        .iter()
        .map(|d| d.serial_number().to_string())
        .collect())
}

/// A new virtual MFA device: its serial and the Base32 seed of its codes.
pub struct VirtualMfa {
    pub serial: String,
    pub seed: SecretString,
    /// The QR code as a PNG (it encodes the seed: a secret too).
    pub qr_png: Option<Vec<u8>>,
}

/// `iam:CreateVirtualMFADevice`.
pub async fn create_virtual_mfa_device(
    client: &aws_sdk_iam::Client,
    name: &str,
) -> Result<VirtualMfa, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint.clone()))?;
    let d = out.virtual_mfa_device().ok_or_else(|| IamError::Other {
        endpoint: endpoint.clone(),
        detail: "no device in the CreateVirtualMFADevice response".into(),
    })?;
    let seed = d
        .base32_string_seed()
        .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
        .ok_or_else(|| IamError::Other {
            endpoint,
            detail: "no Base32StringSeed in the CreateVirtualMFADevice response".into(),
        })?;
    Ok(VirtualMfa {
        serial: d.serial_number().to_string(),
        seed: SecretString::new(seed),
        qr_png: d.qr_code_png().map(|b| b.as_ref().to_vec()),
    })
}

/// Whether `iam:ListVirtualMFADevices` lists an unassigned device `serial`
/// (left by an earlier run that stopped before enabling it).
pub async fn unassigned_virtual_mfa_device(
    client: &aws_sdk_iam::Client,
    serial: &str,
) -> Result<bool, IamError> {
    let endpoint = endpoint_name();
    let mut pages = client
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Unassigned)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(e, &endpoint))?;
        if page
            .virtual_mfa_devices()
            .iter()
            .any(|d| d.serial_number() == serial)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `iam:DeleteVirtualMFADevice` (an unassigned device left by an earlier run).
pub async fn delete_virtual_mfa_device(
    client: &aws_sdk_iam::Client,
    serial: &str,
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    match client
        .delete_virtual_mfa_device()
        .serial_number(serial)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => absent(classify(e, &endpoint)),
    }
}

/// `iam:EnableMFADevice` with two consecutive codes.
pub async fn enable_mfa_device(
    client: &aws_sdk_iam::Client,
    user: &str,
    serial: &str,
    codes: (&str, &str),
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    client
        .enable_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .authentication_code1(codes.0)
        .authentication_code2(codes.1)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(())
}

/// `iam:GetRole`: the role's ARN and trust policy (URL-encoded JSON), or
/// `None` when there is no such role.
pub async fn get_role(
    client: &aws_sdk_iam::Client,
    role: &str,
) -> Result<Option<(String, String)>, IamError> {
    let endpoint = endpoint_name();
    match client.get_role().role_name(role).send().await {
        Ok(out) => Ok(out.role().map(|r| {
            (
                r.arn().to_string(),
                r.assume_role_policy_document()
                    .unwrap_or_default()
                    .to_string(),
            )
        })),
        Err(e) => absent(classify(e, &endpoint)).map(|()| None),
    }
}

/// `iam:CreateRole` with `trust` as its assume-role policy: the role's ARN.
pub async fn create_role(
    client: &aws_sdk_iam::Client,
    role: &str,
    trust: &str,
) -> Result<String, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .create_role()
        .role_name(role)
        .assume_role_policy_document(trust)
        .description("Created by rolepick setup")
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(out.role().map(|r| r.arn().to_string()).unwrap_or_default())
}

/// `iam:UpdateAssumeRolePolicy`.
pub async fn update_trust(
    client: &aws_sdk_iam::Client,
    role: &str,
    trust: &str,
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    client
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(trust)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(())
}

/// `iam:ListAttachedRolePolicies`: the ARNs attached to `role`.
pub async fn attached_role_policies(
    client: &aws_sdk_iam::Client,
    role: &str,
) -> Result<Vec<String>, IamError> {
    let endpoint = endpoint_name();
    let out = client
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// `iam:AttachRolePolicy`.
pub async fn attach_role_policy(
    client: &aws_sdk_iam::Client,
    role: &str,
    policy_arn: &str,
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    client
        .attach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(())
}

/// `iam:PutUserPolicy` (creates or replaces the inline policy `name`).
pub async fn put_user_policy(
    client: &aws_sdk_iam::Client,
    user: &str,
    name: &str,
    document: &str,
) -> Result<(), IamError> {
    let endpoint = endpoint_name();
    client
        .put_user_policy()
        .user_name(user)
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .map_err(|e| classify(e, &endpoint))?;
    Ok(())
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
