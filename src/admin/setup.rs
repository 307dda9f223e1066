//! `rolepick setup`: the classic walkthrough, automated and idempotent.
//!
//! From bootstrap admin credentials: the IAM user; a virtual MFA device
//! (QR code on the terminal) enabled with two consecutive codes; roles that
//! trust only this user with MFA, with a managed policy attached; an inline
//! user policy (assets/user-policy.json); an access key created straight
//! into the vault; the profiles in ~/.aws/config. Every step first looks
//! at what exists, so a rerun does only what is missing. `--dry-run` makes
//! only read calls and prints every change it would make.

use crate::admin::vault::store_record;
use crate::aws::iam;
use crate::aws::rfc3339;
use crate::aws::sts::{self, Signer, StsError};
use crate::cli::SetupArgs;
use crate::config::writer::{profile_section, ConfigFile};
use crate::engine::{validate_mfa_code, Engine};
use crate::error::Error;
use crate::secret::{LongLivedKey, SecretString};
use crate::vault::keys::CredentialsFile;
use crate::vault::store::KeyRecord;
use crate::vault::SettingsExt as _;
use std::io::Write;
use std::path::Path;

/// Trust policy of the roles: only the user, only with MFA.
pub const TRUST_POLICY: &str = include_str!("../../assets/trust-policy.json");
/// Inline policy of the user: assume those roles, get an MFA session, and
/// rotate its own keys (with MFA).
pub const USER_POLICY: &str = include_str!("../../assets/user-policy.json");
/// Name of the inline user policy.
const USER_POLICY_NAME: &str = "rolepick";

pub fn trust_policy(user_arn: &str) -> String {
    TRUST_POLICY.replace("{{USER_ARN}}", user_arn)
}

pub fn user_policy(user_arn: &str, role_arns: &[String]) -> String {
    let roles = serde_json::to_string(role_arns).unwrap_or_else(|_| "[]".into());
    USER_POLICY
        .replace("{{USER_ARN}}", user_arn)
        .replace("{{ROLE_ARNS}}", &roles)
}

/// Whether the trust policy `document` (as `iam:GetRole` returns it:
/// URL-encoded JSON, or plain JSON) lets `user_arn` assume the role: an
/// `Allow` statement whose `Principal.AWS` is the user, its account's root
/// or its account id. Parsed, never compared as text: IAM encodes the
/// document (and may encode `/` or not) and reorders nothing we can rely on.
pub fn trusts(document: &str, user_arn: &str) -> bool {
    let parsed = serde_json::from_str::<serde_json::Value>(document).or_else(|_| {
        let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
        serde_json::from_str(&decoded)
    });
    let Ok(policy) = parsed else {
        return false;
    };
    let account = user_arn.split(':').nth(4).unwrap_or_default();
    let root = format!("arn:aws:iam::{account}:root");
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Principal"]["AWS"] {
            serde_json::Value::String(p) => vec![p.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .any(|p| p == user_arn || p == root || (!account.is_empty() && p == account))
}

fn say(msg: &str) {
    eprintln!("rolepick setup: {msg}");
}

/// The policy a role gets when neither `--role NAME:POLICY` nor `--policy` names one.
pub const DEFAULT_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// A managed policy as given: an ARN, or the name of an AWS managed policy
/// (`ReadOnlyAccess` is `arn:aws:iam::aws:policy/ReadOnlyAccess`).
fn policy_arn(p: &str) -> String {
    if p.starts_with("arn:") {
        p.to_string()
    } else {
        format!("arn:aws:iam::aws:policy/{p}")
    }
}

/// One `--role [PROFILE=]NAME[@ACCOUNT][:POLICY]`.
#[derive(Debug, PartialEq, Eq)]
struct RoleSpec {
    profile: String,
    name: String,
    account: String,
    policy: String,
    /// No `:POLICY` and no `--policy`: the role got [`DEFAULT_POLICY`].
    default_policy: bool,
}

impl RoleSpec {
    fn parse(spec: &str, own_account: &str, policy: Option<&str>) -> Result<RoleSpec, Error> {
        // A role name has no `:`; a policy ARN has several.
        let (role, own_policy) = match spec.split_once(':') {
            Some((r, p)) => (r, Some(p)),
            None => (spec, None),
        };
        let (profile, role) = match role.split_once('=') {
            Some((p, r)) => (Some(p), r),
            None => (None, role),
        };
        let (name, account) = role.split_once('@').unwrap_or((role, own_account));
        let profile = profile.unwrap_or(name);
        if name.is_empty()
            || profile.is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || own_policy.is_some_and(str::is_empty)
        {
            return Err(Error::Usage(format!(
                "--role {spec:?} is not [PROFILE=]NAME[@ACCOUNT_ID][:POLICY] (a 12-digit account id; POLICY an AWS managed policy name such as ReadOnlyAccess, or a policy ARN)."
            )));
        }
        let chosen = own_policy.or(policy);
        Ok(RoleSpec {
            profile: profile.to_string(),
            name: name.to_string(),
            account: account.to_string(),
            policy: chosen.map_or_else(|| DEFAULT_POLICY.to_string(), policy_arn),
            default_policy: chosen.is_none(),
        })
    }
}

/// The admin credentials setup works with.
struct Bootstrap {
    key: LongLivedKey,
    token: Option<SecretString>,
    origin: String,
}

fn bootstrap(engine: &Engine, args: &SetupArgs) -> Result<Bootstrap, Error> {
    if let Some(p) = &args.bootstrap_profile {
        let file = CredentialsFile {
            path: engine.paths().aws_credentials.clone(),
        };
        let key = file.read_key(p)?.ok_or_else(|| {
            Error::Usage(format!(
                "no key under [{p}] in {}; --bootstrap-profile names a profile there with admin rights.",
                file.path.display()
            ))
        })?;
        return Ok(Bootstrap {
            key,
            token: None,
            origin: format!("profile [{p}] of {}", file.path.display()),
        });
    }
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Bootstrap {
            key: LongLivedKey {
                access_key_id: id,
                secret_access_key: SecretString::new(secret),
            },
            token: var("AWS_SESSION_TOKEN").map(SecretString::new),
            origin: "the environment (AWS_ACCESS_KEY_ID)".into(),
        }),
        _ => Err(Error::Usage(
            "setup needs admin credentials to create the user and roles: pass --bootstrap-profile PROFILE (a profile of ~/.aws/credentials), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for this one command.".into(),
        )),
    }
}

fn aws_error(call: &str, e: StsError) -> Error {
    Error::aws(call, e).noted(
        "setup stopped here; what it made so far stays, and rerunning the same command continues from here.",
    )
}

struct Setup<'a> {
    engine: &'a Engine,
    args: &'a SetupArgs,
    rt: tokio::runtime::Runtime,
    client: aws_sdk_iam::Client,
    dry: bool,
    plan: std::cell::RefCell<String>,
    /// Where the plan and the commands for other accounts go (stdout).
    out: std::cell::RefCell<&'a mut dyn Write>,
}

impl Setup<'_> {
    fn out(&self, text: &str) -> Result<(), Error> {
        self.out
            .borrow_mut()
            .write_all(text.as_bytes())
            .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))
    }

    fn call<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, StsError>>,
    ) -> Result<T, Error> {
        self.rt.block_on(f).map_err(|e| aws_error(what, e))
    }

    /// A list call, or nothing when there is nothing to list yet (a dry
    /// run for a user that does not exist).
    fn list<T>(
        &self,
        can_list: bool,
        what: &str,
        f: impl std::future::Future<Output = Result<Vec<T>, StsError>>,
    ) -> Result<Vec<T>, Error> {
        if can_list {
            self.call(what, f)
        } else {
            Ok(Vec::new())
        }
    }

    /// A change: made, or (dry run) described.
    fn change(&self, what: &str, document: Option<&str>) -> bool {
        if self.dry {
            let mut p = self.plan.borrow_mut();
            p.push_str(&format!("would: {what}\n"));
            if let Some(d) = document {
                for l in d.trim_end().lines() {
                    p.push_str(&format!("    {l}\n"));
                }
            }
            false
        } else {
            say(what);
            true
        }
    }

    fn source(&self) -> &str {
        self.args.source.as_deref().unwrap_or(&self.args.user)
    }

    fn run(&self, boot: &Bootstrap) -> Result<u8, Error> {
        let region = &self.args.region;
        let signer = Signer::key(&boot.key).with_token(boot.token.as_ref());
        let endpoint = sts::endpoint_name(region);
        let id = self
            .rt
            .block_on(sts::get_caller_identity(&sts::client(&signer, region), &endpoint))
            .map_err(|e| match e {
                StsError::Service { code, message } => Error::Refused {
                    call: "sts:GetCallerIdentity".into(),
                    message: format!(
                        "AWS rejected the bootstrap credentials from {} (access key {}): {code}: {message} Check that they are current admin credentials; nothing was created.",
                        boot.origin, boot.key.access_key_id
                    ),
                    code,
                },
                other => aws_error("sts:GetCallerIdentity", other),
            })?;
        let account = id.account.clone();
        say(&format!(
            "working as {} (account {account}) with credentials from {}",
            id.arn, boot.origin
        ));
        let user = self.args.user.as_str();

        // 1. The user.
        let existing = self.call("iam:GetUser", iam::get_user(&self.client, user))?;
        // In a dry run a user that does not exist yet has nothing to list.
        let can_list = existing.is_some() || !self.dry;
        let user_arn = match existing {
            Some(arn) => {
                say(&format!("IAM user {arn} exists"));
                arn
            }
            None if self.change(&format!("iam:CreateUser UserName={user}"), None) => {
                self.call("iam:CreateUser", iam::create_user(&self.client, user))?
            }
            None => format!("arn:aws:iam::{account}:user/{user}"),
        };

        // 2. The MFA device.
        let devices = self.list(
            can_list,
            "iam:ListMFADevices",
            iam::list_mfa_devices(&self.client, user),
        )?;
        let serial = match devices.into_iter().next() {
            Some(s) => {
                say(&format!("MFA device {s} is enabled for {user}"));
                s
            }
            None => self.new_mfa_device(user, &account)?,
        };

        // 3. The roles.
        let trust = trust_policy(&user_arn);
        let mut roles = Vec::new();
        let mut defaulted = Vec::new();
        for spec in &self.args.roles {
            let r = RoleSpec::parse(spec, &account, self.args.policy.as_deref())?;
            let arn = format!("arn:aws:iam::{}:role/{}", r.account, r.name);
            if r.account == account {
                self.ensure_role(&r.name, &user_arn, &trust, &r.policy)?;
            } else {
                self.other_account_role(&r.name, &r.account, &trust, &r.policy)?;
            }
            if r.default_policy {
                defaulted.push(r.name.clone());
            }
            roles.push((r.profile, arn));
        }
        if defaulted.len() > 1 {
            let note = format!(
                "roles {} all get {DEFAULT_POLICY} (the default of --policy); to give a role another policy: --role {}:ReadOnlyAccess (an AWS managed policy name, or a policy ARN)",
                defaulted.join(", "),
                defaulted.last().map_or("NAME", String::as_str)
            );
            if self.dry {
                self.plan.borrow_mut().push_str(&format!("note: {note}\n"));
            } else {
                say(&note);
            }
        }

        // 4. The user's inline policy.
        let arns: Vec<String> = roles.iter().map(|(_, a)| a.clone()).collect();
        let doc = user_policy(&user_arn, &arns);
        if self.change(
            &format!("iam:PutUserPolicy UserName={user} PolicyName={USER_POLICY_NAME}"),
            Some(&doc),
        ) {
            self.call(
                "iam:PutUserPolicy",
                iam::put_user_policy(&self.client, user, USER_POLICY_NAME, &doc),
            )?;
        }

        // 5. The access key, straight into the vault.
        self.ensure_key(user, &user_arn, can_list)?;

        // 6. The profiles.
        self.write_profiles(&serial, &roles)?;

        if self.dry {
            self.out(&format!(
                "rolepick setup --dry-run: nothing was changed. Plan:\n{}",
                self.plan.borrow()
            ))?;
        } else {
            say(&format!(
                "done. Try: rolepick exec {} -- aws sts get-caller-identity",
                roles.first().map_or(self.source(), |(n, _)| n.as_str())
            ));
        }
        Ok(0)
    }

    fn new_mfa_device(&self, user: &str, account: &str) -> Result<String, Error> {
        let serial = format!("arn:aws:iam::{account}:mfa/{user}");
        let leftover = self.call(
            "iam:ListVirtualMFADevices",
            iam::unassigned_virtual_mfa_device(&self.client, &serial),
        )?;
        let after = if leftover {
            " (after deleting the unassigned device of that name left by an earlier run)"
        } else {
            ""
        };
        if !self.change(
            &format!(
                "iam:CreateVirtualMFADevice VirtualMFADeviceName={user}{after}, show its QR code and secret key, iam:EnableMFADevice UserName={user} SerialNumber={serial} with two consecutive codes"
            ),
            None,
        ) {
            return Ok(serial);
        }
        if leftover {
            self.call(
                "iam:DeleteVirtualMFADevice",
                iam::delete_virtual_mfa_device(&self.client, &serial),
            )?;
        }
        let dev = self.call(
            "iam:CreateVirtualMFADevice",
            iam::create_virtual_mfa_device(&self.client, user),
        )?;
        let uri = format!(
            "otpauth://totp/AWS:{user}@{account}?secret={}&issuer=AWS",
            dev.seed.expose()
        );
        match qrcode::QrCode::new(uri.as_bytes()) {
            Ok(code) => {
                let qr = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                eprintln!(
                    "\nScan this with your authenticator app (device {}):\n\n{qr}\n",
                    dev.serial
                );
            }
            Err(e) => say(&format!("cannot draw the QR code ({e})")),
        }
        // The same secret as text, for a password manager or an app that
        // cannot scan (it is as secret as the QR code: on the terminal only).
        eprintln!(
            "Or enter this secret key (Base32, TOTP, 6 digits, 30 s): {}\n",
            dev.seed.expose()
        );
        if let Some(path) = &self.args.qr_png {
            self.write_png(path, dev.qr_png.as_deref())?;
        }
        let codes = self.mfa_codes(&dev.seed)?;
        self.call(
            "iam:EnableMFADevice",
            iam::enable_mfa_device(&self.client, user, &dev.serial, (&codes.0, &codes.1)),
        )
        .map_err(|e| match e.root() {
            Error::Refused { .. } => Error::MfaRejected {
                message: format!(
                    "{e}\nThe device {} exists but is not enabled. Rerun setup: it replaces the device with a new one (remove this one from your authenticator app).",
                    dev.serial
                ),
                serial: dev.serial.clone(),
            },
            _ => e,
        })?;
        say(&format!("MFA device {} enabled for {user}", dev.serial));
        Ok(dev.serial)
    }

    /// The QR code PNG, created 0600 (never over an existing file).
    fn write_png(&self, path: &Path, png: Option<&[u8]>) -> Result<(), Error> {
        let png = png.ok_or_else(|| {
            Error::Other("AWS sent no QR code PNG for the new MFA device.".into())
        })?;
        crate::fsutil::write_new(path, png)
            .map_err(|e| Error::io("write the QR code to", path, &e))?;
        say(&format!(
            "QR code written to {} (mode 0600; it holds the device's secret: delete it once scanned)",
            path.display()
        ));
        Ok(())
    }

    fn mfa_codes(&self, seed: &SecretString) -> Result<(String, String), Error> {
        match self.args.mfa_codes.as_slice() {
            [a, b] => return Ok((validate_mfa_code(a)?.into(), validate_mfa_code(b)?.into())),
            [] => {}
            _ => {
                return Err(Error::Usage(
                    "--mfa-codes takes exactly two codes: CODE1,CODE2 (two consecutive codes of the new device).".into(),
                ))
            }
        }
        if self.args.mfa_codes_from_seed {
            let key = base32_decode(seed.expose())
                .ok_or_else(|| Error::Other("the MFA seed from AWS is not Base32.".into()))?;
            let now = self
                .engine
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return Ok((totp(&key, now), totp(&key, now + 30)));
        }
        let no_tty = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot ask for the MFA codes on the terminal ({e}). Pass them with --mfa-codes CODE1,CODE2."
            ))
        };
        let a = crate::run::tty::ask_code("First code shown by your authenticator app: ", no_tty)?;
        let b = crate::run::tty::ask_code("Wait for the next code, and type it: ", no_tty)?;
        Ok((a, b))
    }

    fn ensure_role(
        &self,
        name: &str,
        user_arn: &str,
        trust: &str,
        policy: &str,
    ) -> Result<(), Error> {
        match self.call("iam:GetRole", iam::get_role(&self.client, name))? {
            Some((arn, doc)) => {
                say(&format!(
                    "role {arn} exists (its trust policy is left as it is)"
                ));
                if !trusts(&doc, user_arn) {
                    crate::diag::warn(&format!(
                        "the trust policy of role {arn} does not name {user_arn}; the user cannot assume it until it does. To trust only this user with MFA: aws iam update-assume-role-policy --role-name {name} --policy-document '{}'",
                        serde_json::from_str::<serde_json::Value>(trust)
                            .map(|v| v.to_string())
                            .unwrap_or_default()
                    ));
                }
            }
            None => {
                if self.change(&format!("iam:CreateRole RoleName={name}"), Some(trust)) {
                    self.call(
                        "iam:CreateRole",
                        iam::create_role(&self.client, name, trust),
                    )?;
                }
                return self.attach_policy(name, policy);
            }
        }
        let attached = self.call(
            "iam:ListAttachedRolePolicies",
            iam::attached_role_policies(&self.client, name),
        )?;
        if attached.iter().any(|a| a == policy) {
            return Ok(());
        }
        self.attach_policy(name, policy)
    }

    /// Attaches managed policy `policy` to role `name` (or says it would).
    fn attach_policy(&self, name: &str, policy: &str) -> Result<(), Error> {
        if self.change(
            &format!("iam:AttachRolePolicy RoleName={name} PolicyArn={policy}"),
            None,
        ) {
            self.call(
                "iam:AttachRolePolicy",
                iam::attach_role_policy(&self.client, name, policy),
            )?;
        }
        Ok(())
    }

    fn other_account_role(
        &self,
        name: &str,
        acct: &str,
        trust: &str,
        policy: &str,
    ) -> Result<(), Error> {
        let file = format!("rolepick-trust-{name}.json");
        self.out(&format!(
            "Role {name} in account {acct} must be created there, with credentials of that account:\n\
             cat > {file} <<'JSON'\n{}\nJSON\n\
             aws iam create-role --role-name {name} --assume-role-policy-document file://{file}\n\
             aws iam attach-role-policy --role-name {name} --policy-arn {}\n\n",
            trust.trim_end(),
            policy
        ))
    }

    fn ensure_key(&self, user: &str, user_arn: &str, can_list: bool) -> Result<(), Error> {
        let source = self.source();
        let loc = self.engine.model().settings.vault.location();
        if loc.read_index().sources.contains_key(source) {
            say(&format!(
                "the vault already holds a key for source {source:?}; no new key"
            ));
            return Ok(());
        }
        let keys = self.list(
            can_list,
            "iam:ListAccessKeys",
            iam::list_access_keys(&self.client, user),
        )?;
        if keys.len() >= 2 {
            return Err(Error::Usage(format!(
                "IAM user {user} already has two access keys ({}) and none is in rolepick's vault; IAM allows no third. Put the one you use into the vault with `rolepick vault add {source}`, or delete one, and rerun setup.",
                keys.iter()
                    .map(|k| k.access_key_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !self.change(
            &format!(
                "iam:CreateAccessKey UserName={user}, stored in the {} vault as source {source:?}",
                self.engine.model().settings.vault.backend.name()
            ),
            None,
        ) {
            return Ok(());
        }
        let key = self.call(
            "iam:CreateAccessKey",
            iam::create_access_key(&self.client, user),
        )?;
        let rec = KeyRecord::new(&key, Some(user_arn.to_string()), rfc3339(self.engine.now()));
        if let Err(e) = store_record(self.engine, source, &rec, false) {
            // A key no one can use must not stay in IAM.
            let undo = self.call(
                "iam:DeleteAccessKey",
                iam::delete_access_key(&self.client, user, &key.access_key_id),
            );
            return Err(Error::Other(format!(
                "{e}\nThe new access key {} could not be stored in the vault; {}. Fix the cause and rerun setup.",
                key.access_key_id,
                match undo {
                    Ok(()) => "rolepick deleted it again".to_string(),
                    Err(de) => format!("deleting it again failed too ({de}): delete it with `aws iam delete-access-key --user-name {user} --access-key-id {}`", key.access_key_id),
                }
            )));
        }
        say(&format!(
            "access key {} of {user} stored in the vault as source {source:?}",
            key.access_key_id
        ));
        Ok(())
    }

    fn write_profiles(&self, serial: &str, roles: &[(String, String)]) -> Result<(), Error> {
        let file = ConfigFile::read(&self.engine.paths().aws_config)?;
        let region = self.args.region.as_str();
        let source = self.source();
        let mut wanted = vec![(
            source.to_string(),
            profile_section(source, &[("region", region)]),
        )];
        for (name, arn) in roles {
            wanted.push((
                name.clone(),
                profile_section(
                    name,
                    &[
                        ("role_arn", arn),
                        ("source_profile", source),
                        ("mfa_serial", serial),
                        ("region", region),
                    ],
                ),
            ));
        }
        let mut add = Vec::new();
        for (name, text) in wanted {
            if file.has_profile(&name) {
                say(&format!(
                    "[profile {name}] already exists in {}; left as it is",
                    file.path.display()
                ));
            } else {
                add.push(text);
            }
        }
        if add.is_empty()
            || !self.change(
                &format!("append these profiles to {}", file.path.display()),
                Some(&add.join("\n")),
            )
        {
            return Ok(());
        }
        file.append(&add)
    }
}

/// Runs setup as `args` say; the plan (`--dry-run`) and the commands to run
/// in other accounts are written to `out`, progress to stderr.
pub fn run(engine: &Engine, args: &SetupArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let boot = bootstrap(engine, args)?;
    let rt = crate::engine::runtime()?;
    let client = iam::client(&Signer::key(&boot.key).with_token(boot.token.as_ref()));
    let setup = Setup {
        engine,
        args,
        rt,
        client,
        dry: args.dry_run,
        plan: std::cell::RefCell::new(String::new()),
        out: std::cell::RefCell::new(out),
    };
    setup.run(&boot)
}

/// RFC 4648 Base32 (the alphabet of MFA seeds), in either case, padded or
/// not; `None` on any other character.
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let bare: String = s
        .chars()
        .filter(|c| *c != '=' && !c.is_ascii_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(bare.as_bytes()).ok()
}

/// RFC 6238 TOTP as authenticator apps and AWS use it: HMAC-SHA1,
/// 30-second steps, 6 digits.
fn totp(key: &[u8], unix_secs: u64) -> String {
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, key, unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let key = b"12345678901234567890";
        assert_eq!(totp(key, 59), "287082");
        assert_eq!(totp(key, 1_111_111_109), "081804");
        assert_eq!(totp(key, 1_234_567_890), "005924");
    }

    #[test]
    fn base32_decodes_a_seed() {
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn each_role_takes_its_own_policy_else_the_common_one() {
        let own = "111122223333";
        let r = RoleSpec::parse("readonly:ReadOnlyAccess", own, None).unwrap();
        assert_eq!(r.name, "readonly");
        assert_eq!(r.profile, "readonly");
        assert_eq!(r.account, own);
        assert_eq!(r.policy, "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert!(!r.default_policy);
        let arn = "arn:aws:iam::444455556666:policy/Dev";
        let r = RoleSpec::parse(&format!("dev=developer@444455556666:{arn}"), own, None).unwrap();
        assert_eq!(
            (r.profile.as_str(), r.name.as_str(), r.account.as_str()),
            ("dev", "developer", "444455556666")
        );
        assert_eq!(r.policy, arn);
        let r = RoleSpec::parse("ops", own, Some("PowerUserAccess")).unwrap();
        assert_eq!(r.policy, "arn:aws:iam::aws:policy/PowerUserAccess");
        assert!(!r.default_policy);
        let r = RoleSpec::parse("admin", own, None).unwrap();
        assert_eq!(r.policy, DEFAULT_POLICY);
        assert!(r.default_policy);
        for bad in [
            "ops:",
            ":ReadOnlyAccess",
            "ops@123",
            "=ops",
            "ops@12345678901x",
        ] {
            let e = RoleSpec::parse(bad, own, None).unwrap_err().to_string();
            assert!(
                e.contains("[PROFILE=]NAME[@ACCOUNT_ID][:POLICY]"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_url_encoded_trust_policy_names_the_user() {
        let arn = "arn:aws:iam::123456789012:user/jane";
        let plain = trust_policy(arn);
        // As moto returns it (`/` left as it is) and as IAM does (all encoded).
        let moto: String = plain.replace(':', "%3A").replace('"', "%22");
        let iam: String = moto.replace('/', "%2F").replace(' ', "%20");
        for doc in [plain.as_str(), &moto, &iam] {
            assert!(trusts(doc, arn), "{doc}");
            assert!(!trusts(doc, "arn:aws:iam::123456789012:user/jan"), "{doc}");
        }
        let root = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root"]}}}"#;
        assert!(trusts(root, arn));
        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/jane"}}]}"#;
        assert!(!trusts(deny, arn));
        assert!(!trusts("not json", arn));
    }

    #[test]
    fn policy_templates_render_to_valid_json() {
        let arn = "arn:aws:iam::123456789012:user/jane";
        let t: serde_json::Value = serde_json::from_str(&trust_policy(arn)).unwrap();
        assert_eq!(t["Statement"][0]["Principal"]["AWS"], arn);
        let u: serde_json::Value = serde_json::from_str(&user_policy(
            arn,
            &[
                "arn:aws:iam::1:role/a".into(),
                "arn:aws:iam::2:role/b".into(),
            ],
        ))
        .unwrap();
        assert_eq!(u["Statement"][0]["Resource"][1], "arn:aws:iam::2:role/b");
        assert_eq!(u["Statement"][2]["Resource"], arn);
    }
}
