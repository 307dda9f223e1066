use super::*;
use crate::model::{Parent, ProfileKind};

fn paths() -> Paths {
    Paths {
        aws_config: "/h/.aws/config".into(),
        aws_credentials: "/h/.aws/credentials".into(),
        rolepick: "/h/.config/rolepick/config.toml".into(),
        rolepick_explicit: false,
    }
}

const CREDS: &str = "[primary]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n";
const WALKTHROUGH: &str = "\
[profile primary]
region = us-east-1
[profile admin]
role_arn = arn:aws:iam::111122223333:role/primary-role
source_profile = primary
mfa_serial = arn:aws:iam::111122223333:mfa/primary
region = us-east-1
[profile dev]
role_arn = arn:aws:iam::444455556666:role/developer
source_profile = primary
mfa_serial = arn:aws:iam::111122223333:mfa/primary
duration_seconds = 7200
";

fn model(config: &str, creds: &str, toml: Option<&str>) -> Result<Model, Error> {
    from_texts(&paths(), Some(config), Some(creds), toml)
}

#[test]
fn walkthrough_gives_a_source_and_two_roles() {
    let m = model(WALKTHROUGH, CREDS, None).unwrap();
    assert_eq!(m.sources.len(), 1);
    assert_eq!(m.sources["primary"].region.as_deref(), Some("us-east-1"));
    let dev = m.profile("dev").unwrap();
    assert_eq!(dev.source, "primary");
    assert_eq!(dev.account.id.as_deref(), Some("444455556666"));
    // dev has no region of its own: it takes the source's.
    assert_eq!(dev.region.as_deref(), Some("us-east-1"));
    let ProfileKind::Role(r) = &dev.kind else {
        panic!("dev is a role")
    };
    assert_eq!(r.duration_seconds, Some(7200));
    assert_eq!(r.parent, Parent::Source);
    assert_eq!(dev.origin.line, 8);
    assert_eq!(m.profile("primary").unwrap().kind, ProfileKind::Session);
    // The key-only profile belongs to the account of its user's MFA device.
    assert_eq!(
        m.profile("primary").unwrap().account.id.as_deref(),
        Some("111122223333")
    );
}

#[test]
fn secrets_are_not_kept_in_the_model() {
    let m = model(WALKTHROUGH, CREDS, None).unwrap();
    assert!(!format!("{m:?}").contains("s3cr3t"));
}

#[test]
fn role_chain_records_the_parent_profile_and_root_source() {
    let cfg = format!(
        "{WALKTHROUGH}[profile chained]\nrole_arn = arn:aws:iam::777788889999:role/x\nsource_profile = admin\n"
    );
    let m = model(&cfg, CREDS, None).unwrap();
    let p = m.profile("chained").unwrap();
    assert_eq!(p.source, "primary");
    assert_eq!(p.role().unwrap().parent, Parent::Profile("admin".into()));
}

#[test]
fn missing_source_profile_is_reported_with_file_and_line() {
    let cfg = "[profile a]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = nope\n";
    let m = model(cfg, CREDS, None).unwrap();
    assert!(m.profile("a").is_none());
    let why = &m.broken["a"];
    assert!(why.contains("\"nope\""), "{why}");
    assert!(why.contains("/h/.aws/config:1"), "{why}");
}

#[test]
fn source_profile_loop_is_reported_as_a_chain() {
    let cfg = "\
[profile a]
role_arn = arn:aws:iam::111122223333:role/x
source_profile = b
[profile b]
role_arn = arn:aws:iam::111122223333:role/y
source_profile = a
";
    let m = model(cfg, CREDS, None).unwrap();
    let why = &m.broken["a"];
    assert!(why.contains("a -> b -> a"), "{why}");
}

#[test]
fn role_without_source_profile_is_broken_with_advice() {
    let m = model(
        "[profile a]\nrole_arn = arn:aws:iam::111122223333:role/x\n",
        CREDS,
        None,
    )
    .unwrap();
    assert!(m.broken["a"].contains("source_profile"));
}

#[test]
fn sso_profiles_are_named_as_unsupported() {
    let m = model("[profile s]\nsso_start_url = https://x\n", CREDS, None).unwrap();
    assert!(m.broken["s"].contains("sso_start_url"));
}

#[test]
fn malformed_config_names_file_and_line() {
    let err = model("[profile a]\nregion us-east-1\n", CREDS, None).unwrap_err();
    assert!(err.to_string().contains("/h/.aws/config:2"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

const TOML: &str = r#"
[settings]
session_duration = "8h"
refresh_before = 600

[[source]]
name = "me"
mfa_serial = "arn:aws:iam::111122223333:mfa/me"
region = "eu-west-1"

[[account]]
name = "prod"
id = "111122223333"
group = "production"
tags = ["critical"]
roles = ["admin", { name = "readonly", profile = "prod-ro", duration_seconds = 3600 }]

[[account]]
name = "sandbox"
id = "444455556666"
region = "us-west-2"
roles = ["dev"]
"#;

#[test]
fn toml_accounts_and_roles_become_profiles() {
    let m = from_texts(&paths(), None, None, Some(TOML)).unwrap();
    assert_eq!(m.settings.session_duration.as_secs(), 8 * 3600);
    assert_eq!(m.settings.refresh_before.as_secs(), 600);
    let admin = m.profile("prod-admin").unwrap();
    assert_eq!(
        admin.role().unwrap().role_arn,
        "arn:aws:iam::111122223333:role/admin"
    );
    assert_eq!(admin.account.name.as_deref(), Some("prod"));
    assert_eq!(admin.account.tags, vec!["critical".to_string()]);
    assert_eq!(admin.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        admin.mfa_serial.as_deref(),
        Some("arn:aws:iam::111122223333:mfa/me")
    );
    assert_eq!(
        m.profile("prod-ro")
            .unwrap()
            .role()
            .unwrap()
            .duration_seconds,
        Some(3600)
    );
    assert_eq!(
        m.profile("sandbox-dev").unwrap().region.as_deref(),
        Some("us-west-2")
    );
    assert_eq!(m.profile("me").unwrap().kind, ProfileKind::Session);
}

#[test]
fn both_files_merge_into_one_list() {
    let m = model(WALKTHROUGH, CREDS, Some(TOML)).unwrap();
    for name in [
        "admin",
        "dev",
        "primary",
        "prod-admin",
        "prod-ro",
        "sandbox-dev",
        "me",
    ] {
        assert!(m.profile(name).is_some(), "{name} missing");
    }
}

#[test]
fn a_name_defined_in_both_files_is_a_clear_error() {
    let toml = r#"
[[source]]
name = "me"
[[account]]
name = "x"
id = "111122223333"
roles = [{ name = "r", profile = "admin" }]
"#;
    let err = model(WALKTHROUGH, CREDS, Some(toml))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"admin\""), "{err}");
    assert!(err.contains("/h/.aws/config:3"), "{err}");
    assert!(err.contains("config.toml:7"), "{err}");
}

#[test]
fn toml_source_may_keep_its_key_in_the_credentials_file() {
    let toml =
        "[[source]]\nname = \"primary\"\nmfa_serial = \"arn:aws:iam::111122223333:mfa/primary\"\n";
    let m = model("", CREDS, Some(toml)).unwrap();
    assert_eq!(m.sources["primary"].credentials_profile(), "primary");
    assert_eq!(m.profiles.iter().filter(|p| p.name == "primary").count(), 1);
}

#[test]
fn toml_unknown_key_names_file_and_line() {
    let toml = "[[source]]\nname = \"me\"\nmfa_serail = \"x\"\n";
    let err = model("", "", Some(toml)).unwrap_err().to_string();
    assert!(err.contains("config.toml:3"), "{err}");
    assert!(err.contains("mfa_serail"), "{err}");
}

#[test]
fn toml_bad_duration_is_quoted() {
    let toml = "[settings]\nsession_duration = \"12 fortnights\"\n";
    let err = model("", "", Some(toml)).unwrap_err().to_string();
    assert!(err.contains("\"12 fortnights\""), "{err}");
    assert!(err.contains("config.toml:2"), "{err}");
}

#[test]
fn toml_account_id_must_have_12_digits() {
    let toml =
        "[[source]]\nname = \"me\"\n[[account]]\nname = \"x\"\nid = \"1234\"\nroles = [\"a\"]\n";
    let err = model("", "", Some(toml)).unwrap_err().to_string();
    assert!(err.contains("\"1234\""), "{err}");
}

#[test]
fn toml_account_needs_a_source_when_several_exist() {
    let toml = "[[source]]\nname = \"a\"\n[[source]]\nname = \"b\"\n[[account]]\nname = \"x\"\nid = \"111122223333\"\nroles = [\"r\"]\n";
    let err = model("", "", Some(toml)).unwrap_err().to_string();
    assert!(err.contains("source = "), "{err}");
}

#[test]
fn closest_names_suggest_typos() {
    let m = model(WALKTHROUGH, CREDS, None).unwrap();
    assert_eq!(m.closest_names("admn").first(), Some(&"admin"));
}

#[test]
fn profile_lookup_uses_the_index_and_survives_later_changes() {
    let mut m = model(WALKTHROUGH, CREDS, None).unwrap();
    assert_eq!(m.profile("dev").unwrap().name, "dev");
    assert!(m.profile("nope").is_none());
    // Someone rearranges the public list: lookups stay right.
    m.profiles.reverse();
    assert_eq!(m.profile("dev").unwrap().name, "dev");
    assert_eq!(m.profile("admin").unwrap().name, "admin");
}

#[test]
fn header_whitespace_and_key_case_are_normalised() {
    let cfg = "[profile   spaced]\nROLE_ARN = arn:aws:iam::111122223333:role/x\nSource_Profile = primary\n";
    let m = model(cfg, CREDS, None).unwrap();
    assert_eq!(
        m.profile("spaced").unwrap().role().unwrap().role_arn,
        "arn:aws:iam::111122223333:role/x"
    );
}

/// config.example.toml is what users copy: it must load against the real
/// schema as shipped, and with every commented-out `# key = value` line
/// switched on (so a documented key that the parser does not know, or a
/// documented value it refuses, fails here rather than in a user's file).
#[test]
fn config_example_toml_loads_as_shipped_and_with_every_option_switched_on() {
    let example = include_str!("../../config.example.toml");
    let m = model("", "", Some(example)).unwrap_or_else(|e| panic!("as shipped: {e}"));
    assert!(
        m.profile("prod-admin").is_some(),
        "the [[account]] roles become profiles"
    );
    assert!(m.profile("prod-ro").is_some());
    assert!(m.profile("sandbox-developer").is_some());
    assert_eq!(m.sources["primary"].region.as_deref(), Some("us-east-1"));
    assert!(
        m.sources["corp"].sso().is_some(),
        "an Identity Center source"
    );
    assert!(matches!(
        m.profile("corp-ro").unwrap().kind,
        ProfileKind::Sso { .. }
    ));
    assert!(m.profile("corp-dev-AdministratorAccess").is_some());

    fn option(l: &str) -> Option<&str> {
        let rest = l.strip_prefix("# ")?;
        let (key, _) = rest.split_once(" = ")?;
        key.chars()
            .all(|c| c.is_ascii_lowercase() || c == '_')
            .then_some(rest)
    }
    let switched_on: Vec<&str> = example.lines().map(|l| option(l).unwrap_or(l)).collect();
    let on = example.lines().filter(|l| option(l).is_some()).count();
    assert!(on >= 5, "found only {on} commented-out options");
    let all = switched_on.join("\n");
    model("", "", Some(&all)).unwrap_or_else(|e| panic!("with every option on: {e}\n{all}"));
}

#[test]
fn toml_values_of_the_wrong_shape_are_refused_at_their_line() {
    let cases = [
        (
            "[[source]]\nname = \"me\"\nregion = \"Frankfurt $(id)\"\n",
            "\"Frankfurt $(id)\"",
            3,
        ),
        (
            "[[source]]\nname = \"me\"\n\nmfa_serial = \"garbage\"\n",
            "\"garbage\"",
            4,
        ),
        (
            "[[source]]\nname = \"me\"\nsession_duration = \"48h\"\n",
            "172800s",
            3,
        ),
        (
            "[[source]]\nname = \"me\"\n[[account]]\nname = \"x\"\nid = \"111122223333\"\nroles = [\n  { name = \"a\", arn = \"arn:aws:s3:::bucket\" },\n]\n",
            "\"arn:aws:s3:::bucket\"",
            7,
        ),
        (
            "[[source]]\nname = \"me\"\n[[account]]\nname = \"x\"\nid = \"111122223333\"\nroles = [\n  { name = \"a\", duration_seconds = 0 },\n]\n",
            "duration_seconds = 0",
            7,
        ),
        (
            "[settings]\ndefault_region = \"eu west 1\"\n",
            "\"eu west 1\"",
            2,
        ),
    ];
    for (toml, quoted, line) in cases {
        let err = model("", "", Some(toml)).unwrap_err().to_string();
        assert!(err.contains(quoted), "{toml}: {err}");
        assert!(
            err.contains(&format!("config.toml:{line}")),
            "{toml}: {err}"
        );
    }
}

#[test]
fn a_role_whose_source_has_a_bad_value_is_not_usable_either() {
    let config = WALKTHROUGH.replace(
        "region = us-east-1\n[profile admin]",
        "region = Frankfurt\n[profile admin]",
    );
    let m = model(&config, CREDS, None).unwrap();
    assert!(m.profile("admin").is_none());
    let why = &m.broken["admin"];
    assert!(
        why.contains("\"primary\"") && why.contains("\"Frankfurt\""),
        "{why}"
    );
    assert!(why.contains("/h/.aws/config:2"), "{why}");
}

const SSO: &str = "\
[profile sso-dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-east-2

[profile login-only]
sso_session = corp

[profile legacy]
sso_start_url = https://d-2.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin

[profile chained]
role_arn = arn:aws:iam::444455556666:role/deploy
source_profile = sso-dev

[sso-session corp]
sso_start_url = https://d-1.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access, sso:extra
";

#[test]
fn sso_sessions_and_legacy_profiles_become_identity_center_sources() {
    use crate::model::SsoSession;
    let m = model(SSO, "", None).unwrap();
    assert_eq!(
        m.sources["corp"].sso(),
        Some(&SsoSession {
            cache_id: "corp".into(),
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            scopes: vec!["sso:account:access".into(), "sso:extra".into()],
        })
    );
    let dev = m.profile("sso-dev").unwrap();
    assert_eq!(
        dev.kind,
        ProfileKind::Sso {
            account_id: "111122223333".into(),
            role_name: "ReadOnly".into()
        }
    );
    assert_eq!(dev.source, "corp");
    assert_eq!(dev.region.as_deref(), Some("us-east-2"));
    // The legacy form: the start URL names the session (and its cache file).
    let legacy = m.profile("legacy").unwrap();
    assert_eq!(legacy.source, "https://d-2.awsapps.com/start");
    let s = m.sources[&legacy.source].sso().unwrap();
    assert_eq!(s.cache_id, "https://d-2.awsapps.com/start");
    assert_eq!(
        legacy.region.as_deref(),
        Some("us-east-1"),
        "sso_region as fallback"
    );
    // A role chained from an SSO role assumes from that role's credentials.
    let chained = m.profile("chained").unwrap();
    assert_eq!(
        chained.role().unwrap().parent,
        Parent::Profile("sso-dev".into())
    );
    assert_eq!(chained.source, "corp");
    // No region of its own: the SSO profile's, as a chain from a key takes
    // the key holder's.
    assert_eq!(chained.region.as_deref(), Some("us-east-2"));
    // A profile only for signing in names no role: neither a row nor broken.
    assert!(m.profile("login-only").is_none());
    assert!(m.broken.is_empty(), "{:?}", m.broken);
}

#[test]
fn a_profile_on_a_broken_sso_session_is_broken_and_so_are_its_chained_roles() {
    let bad = SSO.replace("sso_region = eu-west-1", "sso_region = Frankfurt");
    let m = model(&bad, "", None).unwrap();
    let why = &m.broken["sso-dev"];
    assert!(why.contains("\"Frankfurt\""), "{why}");
    assert!(why.contains("/h/.aws/config:22"), "{why}");
    assert!(m.broken["chained"].contains("sso-dev"), "{:?}", m.broken);
    assert!(m.profile("legacy").is_some(), "other sessions unaffected");
}

#[test]
fn identity_center_sources_in_config_toml_are_checked_at_their_line() {
    let cases = [
        (
            "[[source]]\nname = \"corp\"\nsso_start_url = \"not a url\"\nsso_region = \"eu-west-1\"\n",
            "\"not a url\"",
            3,
        ),
        (
            "[[source]]\nname = \"corp\"\nsso_start_url = \"https://d-1.awsapps.com/start\"\nsso_region = \"Mars\"\n",
            "\"Mars\"",
            4,
        ),
        (
            "[[source]]\nname = \"corp\"\nsso_start_url = \"https://d-1.awsapps.com/start\"\nsso_region = \"eu-west-1\"\nmfa_serial = \"arn:aws:iam::111122223333:mfa/x\"\n",
            "mfa_serial",
            5,
        ),
        (
            "[[source]]\nname = \"corp\"\nsso_start_url = \"https://d-1.awsapps.com/start\"\nsso_region = \"eu-west-1\"\n[[account]]\nname = \"x\"\nid = \"111122223333\"\nroles = [\n  { name = \"Admin\", duration_seconds = 3600 },\n]\n",
            "duration_seconds",
            9,
        ),
    ];
    for (toml, quoted, line) in cases {
        let err = model("", "", Some(toml)).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.exit_code(), 2, "{msg}");
        assert!(msg.contains(quoted), "{msg}");
        assert!(
            msg.contains(&format!("config.toml:{line}")),
            "line {line}: {msg}"
        );
    }
}
