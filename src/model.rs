//! Plain data describing what the user configured: long-lived key holders
//! ([`Source`](crate::model::Source)), the runnable [`Profile`](crate::model::Profile)s built on them, and global
//! [`Settings`](crate::model::Settings). Produced by `config::load`, read by everything else. No I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where a definition came from, for error messages (`file:line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Where a profile's credentials ultimately come from: one long-lived,
/// guarded credential. Which kind it is lives in [`SourceKind`]; the engine
/// has one path from a profile to credentials for every kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    /// Fallback region of the profiles built on it (an Identity Center
    /// session: its `sso_region`).
    pub region: Option<String>,
    pub origin: Origin,
    pub kind: SourceKind,
}

/// The kinds of [`Source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// An IAM user's access key (vault, keychain or credentials file),
    /// turned into an MFA session with `sts:GetSessionToken`.
    IamUser(IamUser),
    /// An IAM Identity Center sign-in (`[sso-session NAME]`, a legacy
    /// profile's inline `sso_start_url`, or an SSO `[[source]]`).
    Sso(SsoSession),
}

/// A holder of one long-lived IAM user access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    /// Virtual MFA device ARN used for `sts:GetSessionToken`.
    pub mfa_serial: Option<String>,
    /// Command whose stdout is the current MFA code.
    pub mfa_process: Option<String>,
    /// Lifetime asked for the MFA session.
    pub session_duration: Duration,
    /// Profile name of the key in the shared credentials file.
    pub credentials_profile: String,
}

/// An IAM Identity Center session: `[sso-session NAME]` (or a legacy
/// profile's inline settings, where `cache_id` is the start URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    /// What the AWS CLI's token cache file is named after: the session
    /// name, or the start URL for legacy profiles without `sso_session`.
    pub cache_id: String,
    pub start_url: String,
    /// Where Identity Center lives (`sso_region`).
    pub region: String,
    /// `sso_registration_scopes`; empty means `sso:account:access`.
    pub scopes: Vec<String>,
}

impl Source {
    /// An IAM user source.
    pub fn iam(name: &str, user: IamUser, region: Option<String>, origin: Origin) -> Source {
        Source {
            name: name.to_string(),
            region,
            origin,
            kind: SourceKind::IamUser(user),
        }
    }

    pub fn iam_user(&self) -> Option<&IamUser> {
        match &self.kind {
            SourceKind::IamUser(u) => Some(u),
            SourceKind::Sso(_) => None,
        }
    }

    pub fn sso(&self) -> Option<&SsoSession> {
        match &self.kind {
            SourceKind::Sso(s) => Some(s),
            SourceKind::IamUser(_) => None,
        }
    }

    /// The IAM user's MFA device, if any.
    pub fn mfa_serial(&self) -> Option<&str> {
        self.iam_user().and_then(|u| u.mfa_serial.as_deref())
    }

    /// The IAM user's MFA code command, if any.
    pub fn mfa_process(&self) -> Option<&str> {
        self.iam_user().and_then(|u| u.mfa_process.as_deref())
    }

    /// Profile name of the key in the shared credentials file (the source's
    /// own name for a source that holds no key).
    pub fn credentials_profile(&self) -> &str {
        self.iam_user()
            .map_or(self.name.as_str(), |u| u.credentials_profile.as_str())
    }
}

/// Account facts shown by `list` and the picker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// 12-digit account id, when known.
    pub id: Option<String>,
    /// Friendly name (config.toml), else none.
    pub name: Option<String>,
    pub group: Option<String>,
    pub tags: Vec<String>,
}

/// Where a role profile gets the credentials it assumes the role with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    /// Directly from a source: its MFA session (when it has an MFA serial)
    /// or its long-lived key.
    Source,
    /// Role chaining: the credentials of another (role) profile.
    Profile(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u32>,
    pub parent: Parent,
}

impl RoleSpec {
    /// Role name: last path element of the ARN (`arn:aws:iam::1:role/a/b` -> `b`).
    pub fn role_name(&self) -> &str {
        self.role_arn
            .rsplit_once('/')
            .map_or(self.role_arn.as_str(), |(_, n)| n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileKind {
    /// Assume a role.
    Role(RoleSpec),
    /// The source itself, through an `sts:GetSessionToken` session.
    Session,
    /// An Identity Center role (`sso_account_id` + `sso_role_name`): its
    /// credentials come from the portal's GetRoleCredentials.
    Sso {
        account_id: String,
        role_name: String,
    },
}

/// A name the user can run: `rolepick exec NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// Root source (after following any role chain).
    pub source: String,
    pub region: Option<String>,
    pub kind: ProfileKind,
    pub account: Account,
    /// MFA serial that this profile's session needs (profile's own, else the source's).
    pub mfa_serial: Option<String>,
    pub origin: Origin,
}

impl Profile {
    pub fn role(&self) -> Option<&RoleSpec> {
        match &self.kind {
            ProfileKind::Role(r) => Some(r),
            ProfileKind::Session | ProfileKind::Sso { .. } => None,
        }
    }

    /// The role's name, for a role or an Identity Center role.
    pub fn role_name(&self) -> Option<&str> {
        match &self.kind {
            ProfileKind::Role(r) => Some(r.role_name()),
            ProfileKind::Sso { role_name, .. } => Some(role_name),
            ProfileKind::Session => None,
        }
    }
}

/// Global settings (config.toml `[settings]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Default MFA session lifetime (`GetSessionToken`), 12 h.
    pub session_duration: Duration,
    /// Cached credentials are refreshed this long before they expire, 5 min.
    pub refresh_before: Duration,
    pub default_region: Option<String>,
    /// Where long-lived keys are kept (`[vault]`).
    pub vault: VaultSettings,
    /// How interactive subshells get credentials (`subshell_credentials`).
    pub subshell_credentials: SubshellCredentials,
    /// How long the accounts and roles found in an Identity Center portal
    /// are listed from rolepick's cache before the portal is asked again
    /// (`sso_discovery_ttl`), 8 h.
    pub sso_discovery_ttl: Duration,
}

/// Vault settings (config.toml `[vault]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultSettings {
    pub backend: Backend,
    pub path: Option<PathBuf>,
    /// Command whose stdout is the vault passphrase.
    pub passphrase_command: Option<String>,
}

/// Which backend holds the keys (config.toml `[vault] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    #[default]
    File,
    Keyring,
    CredentialsFile,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Keyring => "keyring",
            Backend::CredentialsFile => "credentials-file",
        }
    }
}

/// The key-age policy: a long-lived key is rotated at least every 90 days.
pub mod key_age {
    /// Key age (days) from which rolepick says "rotate soon".
    pub const WARN_DAYS: i64 = 80;
    /// Key age (days) from which rolepick says "rotate now".
    pub const ALERT_DAYS: i64 = 90;

    /// How urgent rotating a key of some age is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Urgency {
        Fine,
        /// From [`WARN_DAYS`].
        Soon,
        /// From [`ALERT_DAYS`].
        Now,
    }

    pub fn urgency(days: i64) -> Urgency {
        if days >= ALERT_DAYS {
            Urgency::Now
        } else if days >= WARN_DAYS {
            Urgency::Soon
        } else {
            Urgency::Fine
        }
    }
}

/// How an interactive subshell gets its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubshellCredentials {
    /// rolepick's loopback endpoint: credentials that never go stale.
    #[default]
    Server,
    /// Static variables, valid until the role credentials expire.
    Env,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_duration: Duration::from_secs(12 * 3600),
            refresh_before: Duration::from_secs(5 * 60),
            default_region: None,
            vault: VaultSettings::default(),
            subshell_credentials: SubshellCredentials::default(),
            sso_discovery_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

/// Everything configured, merged from `~/.aws/config`, `~/.aws/credentials`
/// and rolepick's `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub sources: BTreeMap<String, Source>,
    /// Sorted by account (name or id) then profile name.
    pub profiles: Vec<Profile>,
    pub settings: Settings,
    /// Profiles that are configured but cannot be used, with the reason
    /// (a broken `source_profile` chain, an unsupported credential kind).
    pub broken: BTreeMap<String, String>,
    /// Profile name -> position in `profiles`, built on the first look-up
    /// (the picker's first frame needs none) and dropped by [`Model::reindex`].
    index: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Model {
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        let index = self.index.get_or_init(|| {
            self.profiles
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), i))
                .collect()
        });
        // The index is trusted only while it matches `profiles` (which is
        // public and may have been changed since).
        if let Some(&i) = index.get(name) {
            if let Some(p) = self.profiles.get(i).filter(|p| p.name == name) {
                return Some(p);
            }
        } else if index.len() == self.profiles.len() {
            return None;
        }
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Forgets the name index after `profiles` changed; the next look-up
    /// builds it again.
    pub fn reindex(&mut self) {
        self.index = std::sync::OnceLock::new();
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    /// Up to three configured names closest to `name`, for "did you mean".
    pub fn closest_names(&self, name: &str) -> Vec<&str> {
        let mut scored: Vec<(f64, &str)> = self
            .profiles
            .iter()
            .map(|p| (strsim::jaro_winkler(name, &p.name), p.name.as_str()))
            .filter(|(s, _)| *s > 0.7)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }
}

/// Account id in an ARN (`arn:aws:iam::111122223333:role/x` -> `111122223333`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let id = arn.split(':').nth(4)?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// An IAM ARN of `kind` (`role`, `mfa`): `arn:PARTITION:iam::ACCOUNT:KIND/NAME`
/// with a 12-digit account and a name made of the characters IAM allows.
fn is_iam_arn(s: &str, kind: &str) -> bool {
    let f: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = f.as_slice() else {
        return false;
    };
    let name = resource
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or("");
    *arn == "arn"
        && partition.starts_with("aws")
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && *service == "iam"
        && region.is_empty()
        && arn_account(s).is_some()
        && account.len() == 12
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

/// What a role ARN looks like, for messages.
pub const ROLE_ARN_SHAPE: &str = "arn:aws:iam::123456789012:role/NAME";

/// `arn:aws:iam::123456789012:role/NAME` (any partition, a path allowed).
pub fn is_role_arn(s: &str) -> bool {
    is_iam_arn(s, "role")
}

/// What an MFA serial looks like, for messages.
pub const MFA_SERIAL_SHAPE: &str =
    "the MFA device's ARN (arn:aws:iam::123456789012:mfa/NAME) or a hardware device's serial number (such as GAHT12345678)";

/// What `sts:GetSessionToken` takes as `SerialNumber`: a virtual device's
/// ARN, or a hardware device's serial number (9 to 256 of `[\w+=/:,.@-]`).
pub fn is_mfa_serial(s: &str) -> bool {
    if s.starts_with("arn:") {
        return is_iam_arn(s, "mfa");
    }
    (9..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
}

/// What an Identity Center start URL looks like, for messages.
pub const START_URL_SHAPE: &str =
    "an IAM Identity Center start URL (such as https://d-1234567890.awsapps.com/start)";

/// `https://...` (or `http://`) with a host: the AWS access portal's URL.
pub fn is_start_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "https" | "http") && u.host_str().is_some_and(|h| !h.is_empty())
    }) && !s.chars().any(char::is_whitespace)
}

/// What an Identity Center role name looks like (letters, digits and
/// `+=,.@_-`, up to 64).
pub fn is_sso_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An OAuth scope in `sso_registration_scopes` (`sso:account:access`).
pub fn is_scope(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// A region name's shape (`eu-west-3`, `us-gov-west-1`). Which regions
/// exist is AWS's to say.
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_must_name_an_iam_role_in_a_12_digit_account() {
        for ok in [
            "arn:aws:iam::111122223333:role/admin",
            "arn:aws:iam::111122223333:role/team/dev",
            "arn:aws-cn:iam::111122223333:role/x",
            "arn:aws-us-gov:iam::111122223333:role/a.b@c+d=e,f_g-h",
        ] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "not-an-arn",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::111122223333:user/jane",
            "arn:aws:iam::12345:role/admin",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a b",
            "arn:aws:iam:eu-west-1:111122223333:role/a",
            "arn:aws:sts::111122223333:role/a",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn mfa_serials_are_a_device_arn_or_a_hardware_serial() {
        for ok in [
            "arn:aws:iam::111122223333:mfa/primary",
            "arn:aws:iam::111122223333:mfa/path/jane",
            "GAHT12345678",
        ] {
            assert!(is_mfa_serial(ok), "{ok}");
        }
        for bad in [
            "garbage",
            "arn:aws:iam::111122223333:role/x",
            "arn:aws:iam::1111:mfa/x",
            "GAHT 12345678",
            "$(id)xxxxxxxx",
        ] {
            assert!(!is_mfa_serial(bad), "{bad}");
        }
    }

    #[test]
    fn arn_account_takes_the_fifth_field() {
        assert_eq!(
            arn_account("arn:aws:iam::111122223333:role/admin"),
            Some("111122223333")
        );
        assert_eq!(arn_account("arn:aws:iam::abc:role/admin"), None);
        assert_eq!(arn_account("nonsense"), None);
    }

    #[test]
    fn role_name_is_last_path_element() {
        let r = RoleSpec {
            role_arn: "arn:aws:iam::111122223333:role/team/dev".into(),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            parent: Parent::Source,
        };
        assert_eq!(r.role_name(), "dev");
    }
}
