//! Rotating a source's long-lived key without ever losing one.
//!
//! 1. Identify the IAM user (`GetCallerIdentity` with the current key) and
//!    list its keys; refuse when there is no free slot.
//! 2. Record `Creating` in the vault, `CreateAccessKey`, store the new key
//!    as current with the old one as `previous` (`Created`).
//! 3. Verify the new key with `GetCallerIdentity`, retrying with bounded
//!    backoff for IAM's eventual consistency; record `Verified`.
//! 4. `DeleteAccessKey` the old key, drop `previous`, clear the stage, and
//!    forget the source's cached MFA session.
//!
//! Every stage is written to the vault before the IAM change it prepares,
//! so a rerun (or `--resume`) picks up where an interrupted run stopped.
//! Until the new key is verified, rolepick signs in with the old one
//! ([`KeyRecord::usable_key`](crate::vault::store::KeyRecord::usable_key)). IAM calls that the user's policy allows only
//! with MFA (AccessDenied) are retried once with a `GetSessionToken`
//! session.

use crate::aws::iam::{self, IamError, KeyMeta};
use crate::aws::rfc3339;
use crate::aws::sts::{self, Signer, StsError};
use crate::aws::Credentials;

use crate::engine::{Engine, MfaPrompt};
use crate::error::Error;
use crate::model::key_age;
use crate::model::Source;
use crate::secret::LongLivedKey;
use crate::vault::keys::CredentialsFile;
use crate::vault::store::{Backend, KeyRecord, Rotation, Slot};
use crate::vault::SettingsExt as _;
use std::cell::RefCell;
use std::time::Duration;

/// A one-line reminder on stderr when `source`'s key (as the vault index
/// dates it) is [`key_age::ALERT_DAYS`] old or more; checked at most once a day per
/// source. Costs one `stat` of a stamp file in the cache dir on other runs,
/// so warm `exec` stays fast.
pub fn remind_if_old(engine: &Engine, source: &str) {
    remind_if_old_at(
        engine.cache(),
        &engine.model().settings.vault,
        engine.now(),
        source,
    );
}

/// [`remind_if_old`] with its parts: the cache holding the stamps, the
/// vault whose index dates the key, and the time now.
pub fn remind_if_old_at(
    cache: &crate::cache::Cache,
    vault: &crate::model::VaultSettings,
    now: std::time::SystemTime,
    source: &str,
) {
    let stamp = key_age_stamp(source);
    if let Some(m) = cache.stamped(&stamp) {
        // Checked within a day (or stamped in the future: clock moved back).
        if now
            .duration_since(m)
            .map_or(true, |d| d < Duration::from_secs(86_400))
        {
            return;
        }
    }
    // Replaced through a temp file: a symlink planted as the stamp is
    // replaced, never followed.
    if let Err(e) = cache.stamp(&stamp, now) {
        crate::diag::debug(&e.to_string());
    }
    let index = vault.location().read_index();
    let Some(days) = index.sources.get(source).and_then(|e| e.age_days(now)) else {
        return;
    };
    if key_age::urgency(days) == key_age::Urgency::Now {
        crate::diag::warn(&format!(
            "the access key of source {source:?} is {days} days old; rotate it with `rolepick rotate {}` (reminder shown once a day)",
            crate::error::shell_word(source)
        ));
    }
}

/// The name of `source`'s key-age stamp in the cache: distinct for
/// distinct names (`a b` and `a_b` each have their own).
pub fn key_age_stamp(source: &str) -> String {
    format!("key-age-checked-{}", crate::cache::file_stem(source))
}

/// Default bound on waiting for AWS to accept a new key.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Options {
    /// Delete a second, inactive key of the user to make room.
    pub delete_other: bool,
    /// How long to keep retrying the new key.
    pub verify_timeout: Duration,
}

impl Options {
    /// `ROLEPICK_ROTATE_VERIFY_TIMEOUT` (seconds) overrides the default bound.
    pub fn verify_timeout_from_env() -> Duration {
        std::env::var("ROLEPICK_ROTATE_VERIFY_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_VERIFY_TIMEOUT, Duration::from_secs)
    }
}

/// What a finished rotation did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub source: String,
    pub user_arn: String,
    pub old_key_id: String,
    pub new_key_id: String,
}

/// Rotates `source`'s key under the vault's lock (asking through `mfa`),
/// or, with `resume_only`, finishes an unfinished rotation: `None` when
/// there is none to finish.
pub fn rotate(
    engine: &Engine,
    source: &str,
    mfa: &dyn MfaPrompt,
    opts: Options,
    resume_only: bool,
) -> Result<Option<Outcome>, Error> {
    let loc = engine.model().settings.vault.location();
    let _lock = loc.lock()?;
    let rotator = Rotator::new(engine, source, mfa, opts)?;
    if resume_only && !rotator.in_progress()? {
        return Ok(None);
    }
    rotator.run().map(Some)
}

/// What is known without unlocking anything, for `--dry-run`.
pub fn plan(engine: &Engine, source: &str) -> Result<Vec<String>, Error> {
    let settings = &engine.model().settings.vault;
    let loc = settings.location();
    let entry = loc.read_index().sources.get(source).cloned();
    let Some(entry) = entry else {
        return Err(not_in_vault(engine, source));
    };
    let user = entry
        .user_arn
        .clone()
        .unwrap_or_else(|| "the IAM user of the key (sts:GetCallerIdentity)".into());
    Ok(vec![
        format!(
            "source {source:?}: key in the {} vault, IAM user {user}, added {}",
            entry.backend, entry.added
        ),
        "1. sts:GetCallerIdentity with the current key; iam:ListAccessKeys for the user (stop if it already has two keys; --delete-other deletes a second key only if it is Inactive)".into(),
        "2. record the rotation in the vault; iam:CreateAccessKey; store the new key in the vault, keeping the old one as `previous`".into(),
        format!(
            "3. sts:GetCallerIdentity with the new key until AWS accepts it (up to {}s)",
            Options::verify_timeout_from_env().as_secs()
        ),
        "4. make the new key current; iam:DeleteAccessKey the old key (signed with the new key); drop the old copy; forget the source's cached MFA session".into(),
        "IAM calls refused with AccessDenied are retried once with an MFA session (sts:GetSessionToken), asking for a code.".into(),
        "Nothing was changed (dry run).".into(),
    ])
}

fn not_in_vault(engine: &Engine, source: &str) -> Error {
    let creds = CredentialsFile {
        path: engine.paths().aws_credentials.clone(),
    };
    let profile = engine
        .model()
        .source(source)
        .map_or(source, |s| s.credentials_profile());
    if matches!(creds.read_key(profile), Ok(Some(_))) {
        return Error::Usage(format!(
            "the key of source {source:?} is in {} under [{profile}], not in rolepick's vault. Move it there first with `rolepick vault import {}`, then run `rolepick rotate {}`.",
            creds.path.display(),
            crate::error::shell_word(profile),
            crate::error::shell_word(source)
        ));
    }
    Error::Usage(format!(
        "rolepick's vault holds no key for source {source:?}; `rolepick vault list` shows what it holds. Add it with `rolepick vault add {}`.",
        crate::error::shell_word(source)
    ))
}

fn progress(msg: &str) {
    eprintln!("rolepick: {msg}");
}

pub struct Rotator<'a> {
    engine: &'a Engine,
    source: String,
    slot: Slot,
    mfa: &'a dyn MfaPrompt,
    opts: Options,
    rt: tokio::runtime::Runtime,
    /// The MFA session IAM calls are signed with, once one was needed.
    session: RefCell<Option<Credentials>>,
}

impl<'a> Rotator<'a> {
    /// Finds where `source`'s key lives and unlocks it. Hold the vault lock
    /// (`Location::lock`) for as long as the rotator lives.
    pub fn new(
        engine: &'a Engine,
        source: &str,
        mfa: &'a dyn MfaPrompt,
        opts: Options,
    ) -> Result<Rotator<'a>, Error> {
        let settings = &engine.model().settings.vault;
        if settings.backend == Backend::CredentialsFile {
            return Err(Error::Config(format!(
                "config.toml sets [vault] backend = \"credentials-file\": rolepick does not rotate keys kept in ~/.aws/credentials. Set backend = \"file\" (or \"keyring\"), run `rolepick vault import {}`, then `rolepick rotate {}`.",
                crate::error::shell_word(source),
                crate::error::shell_word(source)
            )));
        }
        let loc = settings.location();
        let index = loc.read_index();
        let slot = match index.sources.get(source) {
            Some(e) if e.backend == Backend::Keyring.name() => Slot::Keyring { loc },
            Some(_) => {
                let (_, passphrase) = crate::vault::open(&loc, settings, mfa)?;
                Slot::File { loc, passphrase }
            }
            None if loc.exists() && index.sources.is_empty() => {
                let (_, passphrase) = crate::vault::open(&loc, settings, mfa)?;
                Slot::File { loc, passphrase }
            }
            None => return Err(not_in_vault(engine, source)),
        };
        let rt = crate::engine::runtime()?;
        Ok(Rotator {
            engine,
            source: source.to_string(),
            slot,
            mfa,
            opts,
            rt,
            session: RefCell::new(None),
        })
    }

    fn region(&self) -> String {
        self.engine
            .model()
            .source(&self.source)
            .and_then(|s| s.region.clone())
            .or_else(|| self.engine.model().settings.default_region.clone())
            .unwrap_or_else(|| "us-east-1".into())
    }

    fn resume_cmd(&self) -> String {
        format!(
            "rolepick rotate {} --resume",
            crate::error::shell_word(&self.source)
        )
    }

    fn record(&self) -> Result<KeyRecord, Error> {
        self.slot
            .get(&self.source)?
            .ok_or_else(|| not_in_vault(self.engine, &self.source))
    }

    fn save(&self, rec: &KeyRecord) -> Result<(), Error> {
        self.slot.put(&self.source, rec)
    }

    /// Whether a rotation of this source was started and not finished.
    pub fn in_progress(&self) -> Result<bool, Error> {
        let rec = self.record()?;
        Ok(rec.rotation.is_some() || rec.previous.is_some())
    }

    /// Runs (or resumes) the rotation.
    pub fn run(&self) -> Result<Outcome, Error> {
        crate::engine::check_iam_endpoint()?;
        let rec = self.record()?;
        match rec.rotation.clone() {
            None if rec.previous.is_none() => self.start(rec),
            None => {
                // A `previous` without a stage: treat the current key as verified.
                let user = self.identify(&rec.key(), "")?.1;
                self.finish(rec, &user)
            }
            Some(Rotation::Creating { user, known }) => self.resume_creating(rec, &user, &known),
            Some(Rotation::Created { user }) => self.resume_created(rec, &user),
            Some(Rotation::Verified { user }) => self.finish(rec, &user),
        }
    }

    /// The user ARN and name the key belongs to.
    fn identify(&self, key: &LongLivedKey, note: &str) -> Result<(String, String), Error> {
        let id = crate::engine::caller_identity(key, &self.region()).map_err(|e| e.noted(note))?;
        let name = iam::user_name_of(&id.arn).ok_or_else(|| {
            Error::Usage(format!(
                "access key {} belongs to {}, not to an IAM user; only an IAM user's key can be rotated.",
                key.access_key_id, id.arn
            ))
        })?;
        Ok((id.arn.clone(), name.to_string()))
    }

    fn nothing_changed(&self, key_id: &str) -> String {
        format!(
            "Nothing was changed: IAM and {} still have only key {key_id}, which rolepick keeps using. Fix the cause and run `rolepick rotate {}` again.",
            self.slot.describe(),
            self.source
        )
    }

    fn start(&self, rec: KeyRecord) -> Result<Outcome, Error> {
        let old = rec.key();
        let note = self.nothing_changed(&old.access_key_id);
        progress(&format!(
            "rotating the key {} of source {:?}",
            old.access_key_id, self.source
        ));
        let (arn, user) = self.identify(&old, &note)?;
        let keys = self.list(&old, &user).map_err(|e| e.noted(&note))?;
        if !keys.iter().any(|k| k.access_key_id == old.access_key_id) {
            return Err(Error::Auth(format!(
                "IAM lists no key {} for user {user} (it lists: {}); the vault's key does not belong to this user as far as IAM says. Nothing was changed.",
                old.access_key_id,
                ids(&keys)
            )));
        }
        let others: Vec<&KeyMeta> = keys
            .iter()
            .filter(|k| k.access_key_id != old.access_key_id)
            .collect();
        let mut known: Vec<String> = vec![old.access_key_id.clone()];
        for other in others {
            if other.is_active() || !self.opts.delete_other {
                return Err(Error::Usage(format!(
                    "IAM user {user} already has two access keys: {} (the one in rolepick's vault) and {} ({}{}), and IAM allows no third, so there is no room for a new key. Nothing was changed. If nothing uses {}, deactivate it (aws iam update-access-key --user-name {user} --access-key-id {} --status Inactive), check that nothing breaks, then run `rolepick rotate {} --delete-other`; rolepick deletes only an Inactive second key.",
                    old.access_key_id,
                    other.access_key_id,
                    other.status,
                    other
                        .created
                        .map(|t| format!(", created {}", rfc3339(t)))
                        .unwrap_or_default(),
                    other.access_key_id,
                    other.access_key_id,
                    self.source
                )));
            }
            progress(&format!(
                "deleting the inactive second key {} of user {user} (--delete-other)",
                other.access_key_id
            ));
            self.delete(&old, &user, &other.access_key_id)
                .map_err(|e| e.noted(&note))?;
        }
        known.sort();
        self.create(rec, &arn, &user, known)
    }

    fn create(
        &self,
        mut rec: KeyRecord,
        arn: &str,
        user: &str,
        known: Vec<String>,
    ) -> Result<Outcome, Error> {
        let old = rec.key();
        let note = self.nothing_changed(&old.access_key_id);
        rec.rotation = Some(Rotation::Creating {
            user: user.to_string(),
            known,
        });
        self.save(&rec).map_err(|e| e.noted(&note))?;
        progress(&format!("creating a new access key for IAM user {user}"));
        let new = match self.iam(&old, "iam:CreateAccessKey", |c| {
            self.rt.block_on(iam::create_access_key(c, user))
        }) {
            Ok(k) => k,
            Err(e) => {
                // The call may have created a key whose secret never came
                // back (a lost reply): look, and delete any such key.
                let note = match self.delete_orphans(&old, user, &known_ids(&rec)) {
                    Ok(deleted) => {
                        rec.rotation = None;
                        match self.save(&rec) {
                            Ok(()) if deleted.is_empty() => note,
                            Ok(()) => format!(
                                "The failed call had created key {} (its secret never reached rolepick); rolepick deleted it. {note}",
                                deleted.join(", ")
                            ),
                            Err(se) => format!(
                                "IAM still has only key {}, which rolepick keeps using; the vault still records a rotation in progress ({se}). Run `{}` once the cause is fixed.",
                                old.access_key_id,
                                self.resume_cmd()
                            ),
                        }
                    }
                    Err(le) => format!(
                        "IAM may have created a new key whose secret never reached rolepick (checking failed: {le}). {} still holds the old key {}, which rolepick keeps using. Run `{}`: it deletes such a key and starts over.",
                        self.slot.describe(),
                        old.access_key_id,
                        self.resume_cmd()
                    ),
                };
                return Err(e.noted(&note));
            }
        };
        let mut next = KeyRecord::new(&new, Some(arn.to_string()), rfc3339(self.engine.now()));
        next.previous = Some(Box::new(bare(&rec)));
        next.rotation = Some(Rotation::Created {
            user: user.to_string(),
        });
        if let Err(e) = self.save(&next) {
            // The new key cannot be kept: take it back out of IAM.
            let undo = self.delete(&old, user, &new.access_key_id);
            let note = match undo {
                Ok(()) => format!(
                    "The new key {} could not be stored, so rolepick deleted it again. {}",
                    new.access_key_id,
                    self.nothing_changed(&old.access_key_id)
                ),
                Err(de) => format!(
                    "The new key {} could not be stored, and deleting it again failed too ({de}). IAM has two keys for {user}: {} (in {}, working) and {} (secret lost). Run `{}`: it deletes the lost key and starts over.",
                    new.access_key_id,
                    old.access_key_id,
                    self.slot.describe(),
                    new.access_key_id,
                    self.resume_cmd()
                ),
            };
            return Err(e.noted(&note));
        }
        progress(&format!(
            "stored the new key {} in {} (the old key {} is kept until the end)",
            new.access_key_id,
            self.slot.describe(),
            old.access_key_id
        ));
        self.verify_and_finish(next, user)
    }

    fn created_note(&self, rec: &KeyRecord, user: &str) -> String {
        format!(
            "IAM has two keys for user {user}: the old {} (working; rolepick signs in with it) and the new {} (not yet accepted by AWS). {} holds both. Run `{}` to verify the new key and delete the old one.",
            rec.previous.as_ref().map_or("?", |p| p.access_key_id.as_str()),
            rec.access_key_id,
            self.slot.describe(),
            self.resume_cmd()
        )
    }

    fn verify_and_finish(&self, mut rec: KeyRecord, user: &str) -> Result<Outcome, Error> {
        let note = self.created_note(&rec, user);
        let arn = rec.user_arn.clone().unwrap_or_default();
        self.verify(&rec.key(), &arn).map_err(|e| e.noted(&note))?;
        rec.rotation = Some(Rotation::Verified {
            user: user.to_string(),
        });
        self.save(&rec).map_err(|e| e.noted(&note))?;
        self.finish(rec, user)
    }

    /// `GetCallerIdentity` with the new key until it answers as `arn`, with
    /// backoff, up to the configured bound.
    fn verify(&self, key: &LongLivedKey, arn: &str) -> Result<(), Error> {
        let start = self.engine.instant();
        let bound = self.opts.verify_timeout;
        let region = self.region();
        let endpoint = sts::endpoint_name(&region);
        let signer = Signer::key(key);
        let client = sts::client(&signer, &region);
        let mut wait = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            let why = match self
                .rt
                .block_on(sts::get_caller_identity(&client, &endpoint))
            {
                Ok(id) if arn.is_empty() || id.arn == arn => {
                    progress(&format!(
                        "AWS accepts the new key {} ({})",
                        key.access_key_id, id.arn
                    ));
                    return Ok(());
                }
                Ok(id) => {
                    return Err(Error::Auth(format!(
                        "the new key {} answers as {}, not as {arn}.",
                        key.access_key_id, id.arn
                    )))
                }
                Err(e) => e.to_string(),
            };
            let spent = self.engine.instant().saturating_duration_since(start);
            if spent + wait > bound {
                return Err(Error::Unreachable {
                    call: "sts:GetCallerIdentity".into(),
                    message: format!(
                        "AWS did not accept the new key {} within {}s ({attempt} attempts; last: {why}).",
                        key.access_key_id,
                        bound.as_secs()
                    ),
                });
            }
            progress(&format!(
                "waiting for AWS to accept the new key {} (attempt {attempt}, {}s of {}s): {why}",
                key.access_key_id,
                spent.as_secs(),
                bound.as_secs()
            ));
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(10));
            attempt += 1;
        }
    }

    /// Deletes the old key (signed with the new one) and drops the copy.
    fn finish(&self, mut rec: KeyRecord, user: &str) -> Result<Outcome, Error> {
        let new = rec.key();
        let old_id = rec
            .previous
            .as_ref()
            .map(|p| p.access_key_id.clone())
            .unwrap_or_default();
        let note = format!(
            "The new key {} works and is the current key in {}; IAM still has the old key {old_id} (the vault keeps a copy until it is deleted). Run `{}` to delete it.",
            new.access_key_id,
            self.slot.describe(),
            self.resume_cmd()
        );
        if !old_id.is_empty() {
            let keys = self.list(&new, user).map_err(|e| e.noted(&note))?;
            if keys.iter().any(|k| k.access_key_id == old_id) {
                progress(&format!("deleting the old key {old_id} of IAM user {user}"));
                self.delete(&new, user, &old_id)
                    .map_err(|e| e.noted(&note))?;
            }
        }
        let arn = rec.user_arn.clone().unwrap_or_default();
        rec.previous = None;
        rec.rotation = None;
        self.save(&rec).map_err(|e| {
            e.noted(
                &format!(
                    "IAM has only the new key {} for {user}, and it is the current key in {}; the vault still holds a copy of the deleted key {old_id}. Run `{}` to drop it.",
                    new.access_key_id,
                    self.slot.describe(),
                    self.resume_cmd()
                ),
            )
        })?;
        self.engine.cache().remove_session(&self.source);
        Ok(Outcome {
            source: self.source.clone(),
            user_arn: arn,
            old_key_id: old_id,
            new_key_id: new.access_key_id,
        })
    }

    /// A run stopped around `CreateAccessKey`: delete any key created then
    /// (its secret was never stored), then start again.
    fn resume_creating(
        &self,
        mut rec: KeyRecord,
        user: &str,
        known: &[String],
    ) -> Result<Outcome, Error> {
        let old = rec.key();
        let note = format!(
            "{} holds key {}, which rolepick keeps using; a rotation is recorded as started. Run `{}` again once the cause is fixed.",
            self.slot.describe(),
            old.access_key_id,
            self.resume_cmd()
        );
        progress(&format!(
            "resuming the rotation of source {:?} (stopped around CreateAccessKey)",
            self.source
        ));
        self.delete_orphans(&old, user, known)
            .map_err(|e| e.noted(&note))?;
        rec.rotation = None;
        self.save(&rec).map_err(|e| e.noted(&note))?;
        self.start(rec)
    }

    /// Deletes the user's keys that are not in `known`: made by a
    /// `CreateAccessKey` whose reply (and so the secret) was lost. Returns
    /// their ids.
    fn delete_orphans(
        &self,
        key: &LongLivedKey,
        user: &str,
        known: &[String],
    ) -> Result<Vec<String>, Error> {
        let keys = self.list(key, user)?;
        let mut deleted = Vec::new();
        for k in keys.iter().filter(|k| !known.contains(&k.access_key_id)) {
            progress(&format!(
                "deleting key {} of IAM user {user}: an interrupted CreateAccessKey made it and its secret never reached rolepick",
                k.access_key_id
            ));
            self.delete(key, user, &k.access_key_id)?;
            deleted.push(k.access_key_id.clone());
        }
        Ok(deleted)
    }

    /// A run stopped after storing the new key, before it was verified.
    fn resume_created(&self, rec: KeyRecord, user: &str) -> Result<Outcome, Error> {
        let note = self.created_note(&rec, user);
        progress(&format!(
            "resuming the rotation of source {:?} (new key {} stored, not yet verified)",
            self.source, rec.access_key_id
        ));
        let Some(prev) = rec.previous.clone() else {
            return self.verify_and_finish(rec, user);
        };
        let keys = self.list(&prev.key(), user).map_err(|e| e.noted(&note))?;
        if keys.iter().any(|k| k.access_key_id == rec.access_key_id) {
            return self.verify_and_finish(rec, user);
        }
        // The new key is gone from IAM: go back to the old one and start over.
        progress(&format!(
            "the new key {} is no longer in IAM; going back to the old key {} and starting over",
            rec.access_key_id, prev.access_key_id
        ));
        let back = bare(&prev);
        self.save(&back).map_err(|e| e.noted(&note))?;
        self.start(back)
    }

    /// The source's MFA device: the source's own, else the first profile's
    /// that uses the source.
    fn mfa_serial(&self) -> Option<(Source, String)> {
        let model = self.engine.model();
        let src = model.source(&self.source)?;
        let serial = src.mfa_serial().map(str::to_string).or_else(|| {
            model
                .profiles
                .iter()
                .filter(|p| p.source == self.source)
                .find_map(|p| p.mfa_serial.clone())
        })?;
        Some((src.clone(), serial))
    }

    fn mfa_session(&self, key: &LongLivedKey) -> Result<Credentials, Error> {
        let (src, serial) = self.mfa_serial().ok_or_else(|| {
            Error::Auth(format!(
                "IAM refused the call with the plain key, and no mfa_serial is configured for source {:?} to retry with an MFA session.",
                self.source
            ))
        })?;
        progress(&format!(
            "IAM refused the key change without MFA; signing in with MFA device {serial}"
        ));
        let code = self.engine.mfa_code(&src, &serial, self.mfa)?;
        let region = self.region();
        let endpoint = sts::endpoint_name(&region);
        let signer = Signer::key(key);
        let client = sts::client(&signer, &region);
        self.rt
            .block_on(sts::get_session_token(
                &client,
                &endpoint,
                Some((&serial, &code)),
                Duration::from_secs(900),
            ))
            .map_err(|e| match e {
                StsError::Service { code, message } if code == "AccessDenied" => {
                    Error::MfaRejected {
                        message: format!(
                            "AWS rejected the MFA code for {serial}: {message} Wait for the next code and try again."
                        ),
                        serial: serial.clone(),
                    }
                }
                other => Error::aws("sts:GetSessionToken", other),
            })
    }

    /// An IAM call signed with `key` (or the MFA session once there is one);
    /// on AccessDenied without a session, once more with an MFA session.
    fn iam<T>(
        &self,
        key: &LongLivedKey,
        call: &str,
        f: impl Fn(&aws_sdk_iam::Client) -> Result<T, IamError>,
    ) -> Result<T, Error> {
        let client = |s: &Option<Credentials>| match s {
            Some(c) => iam::client(&Signer::temporary(c)),
            None => iam::client(&Signer::key(key)),
        };
        let first = f(&client(&self.session.borrow()));
        match first {
            Ok(v) => Ok(v),
            Err(StsError::Service { code, .. })
                if code == "AccessDenied" && self.session.borrow().is_none() =>
            {
                let s = self.mfa_session(key)?;
                *self.session.borrow_mut() = Some(s);
                f(&client(&self.session.borrow())).map_err(|e| Error::aws(call, e))
            }
            Err(e) => Err(Error::aws(call, e)),
        }
    }

    fn list(&self, key: &LongLivedKey, user: &str) -> Result<Vec<KeyMeta>, Error> {
        self.iam(key, "iam:ListAccessKeys", |c| {
            self.rt.block_on(iam::list_access_keys(c, user))
        })
    }

    /// `DeleteAccessKey`; a key that is already gone counts as deleted.
    fn delete(&self, key: &LongLivedKey, user: &str, id: &str) -> Result<(), Error> {
        self.iam(key, "iam:DeleteAccessKey", |c| {
            match self.rt.block_on(iam::delete_access_key(c, user, id)) {
                Err(StsError::Service { code, .. }) if code == "NoSuchEntity" => Ok(()),
                r => r,
            }
        })
    }
}

fn ids(keys: &[KeyMeta]) -> String {
    if keys.is_empty() {
        return "none".into();
    }
    keys.iter()
        .map(|k| format!("{} ({})", k.access_key_id, k.status))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key ids recorded before `CreateAccessKey`.
fn known_ids(r: &KeyRecord) -> Vec<String> {
    match &r.rotation {
        Some(Rotation::Creating { known, .. }) => known.clone(),
        _ => vec![r.access_key_id.clone()],
    }
}

/// `r` without a rotation stage or a previous key.
fn bare(r: &KeyRecord) -> KeyRecord {
    KeyRecord {
        access_key_id: r.access_key_id.clone(),
        secret_access_key: r.secret_access_key.clone(),
        user_arn: r.user_arn.clone(),
        added: r.added.clone(),
        previous: None,
        rotation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::clock::FixedClock;
    use crate::config::{self, Paths};
    use std::sync::Arc;
    use std::time::SystemTime;

    #[test]
    fn a_planted_key_age_stamp_symlink_leaves_its_target_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        // The victim: the user's AWS config, last changed two days ago.
        let victim = tmp.path().join("aws-config");
        std::fs::write(&victim, "[profile keep]\nregion = eu-west-1\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&victim)
            .unwrap()
            .set_modified(now - Duration::from_secs(2 * 86_400))
            .unwrap();
        let cache = tmp.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let stamp = cache.join(key_age_stamp("primary"));
        std::os::unix::fs::symlink(&victim, &stamp).unwrap();
        let paths = Paths {
            aws_config: tmp.path().join("config"),
            aws_credentials: tmp.path().join("credentials"),
            rolepick: tmp.path().join("config.toml"),
            rolepick_explicit: false,
        };
        let model = config::from_texts(&paths, Some("[profile primary]\n"), None, None).unwrap();
        let engine = Engine::from_parts(model, paths, Cache::at(cache), Vec::new())
            .with_clock(Arc::new(FixedClock::new(now)));
        remind_if_old(&engine, "primary");
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "[profile keep]\nregion = eu-west-1\n"
        );
        let m = std::fs::symlink_metadata(&stamp).unwrap();
        assert!(m.is_file(), "the stamp replaced the link");
        let off = m
            .modified()
            .unwrap()
            .duration_since(now)
            .unwrap_or_default();
        assert!(off < Duration::from_secs(1), "dated by the engine's clock");
    }

    #[test]
    fn sources_whose_names_differ_only_in_odd_characters_each_get_their_reminder() {
        use crate::diag::Note;
        use crate::vault::store::{Index, IndexEntry};
        use crate::vault::SettingsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let vault = crate::model::VaultSettings {
            backend: Backend::File,
            path: Some(tmp.path().join("vault/vault.age")),
            passphrase_command: None,
        };
        let added = humantime::format_rfc3339_seconds(now - Duration::from_secs(200 * 86_400));
        let entry = IndexEntry {
            backend: Backend::File.name().to_string(),
            user_arn: None,
            added: added.to_string(),
            access_key_id: None,
            rotation: None,
            previous: None,
        };
        let index = Index {
            sources: [("a b", entry.clone()), ("a_b", entry)]
                .into_iter()
                .map(|(n, e)| (n.to_string(), e))
                .collect(),
        };
        vault.location().write_index(&index).unwrap();
        let cache = Cache::at(tmp.path().join("cache"));
        let warned = |source: &str| {
            let ((), notes) = crate::diag::record(|| remind_if_old_at(&cache, &vault, now, source));
            notes
                .into_iter()
                .filter_map(|n| match n {
                    Note::Warn(m) => Some(m),
                    Note::Debug(_) => None,
                })
                .collect::<Vec<_>>()
        };
        let first = warned("a b");
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(
            first[0].contains("`rolepick rotate 'a b'`"),
            "a command to paste as it is: {}",
            first[0]
        );
        // `a b`'s stamp is not `a_b`'s: `a_b` still gets its reminder.
        let second = warned("a_b");
        assert_eq!(second.len(), 1, "{second:?}");
        assert!(second[0].contains("`rolepick rotate a_b`"), "{}", second[0]);
        // Each once a day.
        assert!(warned("a b").is_empty() && warned("a_b").is_empty());
    }
}
