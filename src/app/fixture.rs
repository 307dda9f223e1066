//! The picker's test model, built once for every test under `app/` and `ui/`:
//! source `alice` (MFA code typed in the modal) with roles in the `dev` and
//! `prod` accounts, source `robot` (code from a command) with one role in
//! `ops`; plus the fixed clock's start.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::app::state::State;
use crate::model::{Account, Model, Origin, Parent, Profile, ProfileKind, RoleSpec, Source};

/// The fixed clock's start.
pub const T0: u64 = 1_800_000_000;

/// `s` seconds after the epoch.
pub fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn origin() -> Origin {
    Origin {
        file: "config.toml".into(),
        line: 1,
    }
}

/// A source with an MFA device; its code comes from a command when `mfa_process`.
pub fn source(name: &str, mfa_process: bool) -> Source {
    Source::iam(
        name,
        crate::model::IamUser {
            mfa_serial: Some(format!("arn:aws:iam::000000000000:mfa/{name}")),
            mfa_process: mfa_process.then(|| "echo 123456".into()),
            session_duration: Duration::from_secs(43200),
            credentials_profile: name.into(),
        },
        None,
        origin(),
    )
}

/// Profile `name`: role `role` in account `id` (named `acct`, tagged
/// `env:ACCT`), assumed from source `src` with its MFA device.
pub fn role(name: &str, src: &str, id: &str, acct: &str, role: &str) -> Profile {
    Profile {
        name: name.into(),
        source: src.into(),
        region: Some("eu-west-1".into()),
        kind: ProfileKind::Role(RoleSpec {
            role_arn: format!("arn:aws:iam::{id}:role/{role}"),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            parent: Parent::Source,
        }),
        account: Account {
            id: Some(id.into()),
            name: Some(acct.into()),
            group: None,
            tags: vec![format!("env:{acct}")],
        },
        mfa_serial: Some(format!("arn:aws:iam::000000000000:mfa/{src}")),
        origin: origin(),
    }
}

/// An IAM Identity Center session `name` (start URL `https://NAME.awsapps.com/start`).
pub fn sso_source(name: &str) -> Source {
    Source {
        name: name.into(),
        region: Some("eu-west-1".into()),
        origin: origin(),
        kind: crate::model::SourceKind::Sso(crate::model::SsoSession {
            cache_id: name.into(),
            start_url: format!("https://{name}.awsapps.com/start"),
            region: "eu-west-1".into(),
            scopes: vec![],
        }),
    }
}

/// Profile `name`: Identity Center role `role` in account `id` (named
/// `acct`) of session `src`.
pub fn sso_role(name: &str, src: &str, id: &str, acct: &str, role: &str) -> Profile {
    Profile {
        name: name.into(),
        source: src.into(),
        region: Some("eu-west-1".into()),
        kind: ProfileKind::Sso {
            account_id: id.into(),
            role_name: role.into(),
        },
        account: Account {
            id: Some(id.into()),
            name: Some(acct.into()),
            group: None,
            tags: vec![],
        },
        mfa_serial: None,
        origin: origin(),
    }
}

/// [`model`] plus Identity Center session `corp` with role `sso-dev`
/// (`AdministratorAccess` in account `444444444444`, `sandbox`).
pub fn model_with_sso() -> Model {
    let mut m = model();
    m.sources.insert("corp".into(), sso_source("corp"));
    m.profiles.push(sso_role(
        "sso-dev",
        "corp",
        "444444444444",
        "sandbox",
        "AdministratorAccess",
    ));
    m
}

/// Two sources, three accounts, five roles (see the module doc).
pub fn model() -> Model {
    let mut m = Model::default();
    m.sources.insert("alice".into(), source("alice", false));
    m.sources.insert("robot".into(), source("robot", true));
    m.profiles = vec![
        role("dev-admin", "alice", "111111111111", "dev", "Admin"),
        role("dev-read", "alice", "111111111111", "dev", "ReadOnly"),
        role("prod-admin", "alice", "222222222222", "prod", "Admin"),
        role("prod-read", "alice", "222222222222", "prod", "ReadOnly"),
        role("ops-deploy", "robot", "333333333333", "ops", "Deployer"),
    ];
    m
}

/// The picker's state for `model` at [`T0`], nothing cached, on an 80x24 screen.
pub fn state_of(model: &Model) -> State {
    let mut s = State::new(model, HashMap::new(), HashMap::new(), at(T0));
    s.width = 80;
    s.height = 24;
    s
}

/// The picker's state for [`model`] at [`T0`], nothing cached.
pub fn state() -> State {
    state_of(&model())
}
