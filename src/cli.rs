//! Command-line interface (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0     success (exec -- CMD: rolepick becomes CMD, so its exit status, or
        its death by a signal, is the caller's own to see (a shell shows
        128+N); an interactive or --server shell's status is passed through,
        a death by signal N as 128+N)
  1     other error (cache or file I/O)
  2     usage or configuration error: unknown profile, malformed or invalid
        config (with file:line), MFA code not 6 digits, bad AWS_ENDPOINT_URL,
        nested rolepick shell, console sign-in for a profile that is not a role
  3     AWS refused: MFA code rejected, access denied, invalid or expired key,
        role cannot be assumed, duration above the role's maximum, console
        sign-in refused by the federation endpoint, IAM Identity Center
        sign-in denied or expired, an account or role it cannot reach
  4     AWS unreachable (also the Identity Center OIDC or portal endpoint),
        or still throttling after retries
  5     wrong vault passphrase (nothing was changed; try again)
  126   the command to run exists but cannot be executed
  127   the command to run (or console's browser command) was not found

Files: ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE), rolepick's config.toml (--config,
ROLEPICK_CONFIG), the credential cache ($ROLEPICK_CACHE_DIR, else
$XDG_RUNTIME_DIR/rolepick, else ~/.cache/rolepick).";

#[derive(Parser, Debug)]
#[command(
    name = "rolepick",
    // "0.1.0 (commit 0123456789ab)", from build.rs.
    version = env!("ROLEPICK_VERSION"),
    about = "One MFA, many roles: pick an AWS role and work in a shell with its temporary credentials",
    long_about = "rolepick keeps one long-lived IAM user key, turns it into an MFA session \
(sts:GetSessionToken) and assumes roles across accounts (sts:AssumeRole). Credentials reach \
programs only through their environment. Without a subcommand it opens the picker.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Open the picker even inside a rolepick shell (ROLEPICK_PROFILE set)
    #[arg(long)]
    pub nest: bool,
    /// Picker shells get static credential variables instead of rolepick's
    /// refreshing endpoint (config.toml: subshell_credentials = "env")
    #[arg(long)]
    pub env_creds: bool,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// rolepick's config.toml [default: the user config dir]
    #[arg(long, global = true, env = "ROLEPICK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Say where credentials and keys come from, and each AWS call
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct MfaArgs {
    /// MFA code for a new session; `-` reads it from stdin. Without it,
    /// rolepick asks on the terminal when a code is needed.
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a command (default: $SHELL) with a profile's temporary credentials
    #[command(after_help = EXIT_CODES)]
    Exec(ExecArgs),
    /// List profiles: account, role, source, region and cached-credential expiry
    List(ListArgs),
    /// Print a profile's credentials as variables (PRINTS SECRETS to stdout, for eval)
    #[command(
        long_about = "Print a profile's temporary credentials as variable assignments, e.g.\n  eval \"$(rolepick env admin)\"\nThis PRINTS SECRETS to stdout by design: do not run it where the output is logged. Prefer `rolepick exec`, which never exposes them to your own shell."
    )]
    Env(EnvArgs),
    /// credential_process helper for ~/.aws/config (PRINTS SECRETS to stdout)
    #[command(
        long_about = "Print a profile's temporary credentials as credential_process JSON (Version 1, with Expiration), so other AWS tools can use rolepick:\n  [profile admin-via-rolepick]\n  credential_process = rolepick credential-process admin\nThis PRINTS SECRETS to stdout by design, for the calling SDK to read."
    )]
    CredentialProcess(ProfileArgs),
    /// Open the AWS web console as a role, in your browser (or print its sign-in URL)
    #[command(
        long_about = "Sign in to the AWS web console as PROFILE's role: its credentials (cached, or fetched as `exec` does, MFA code included) go to the AWS federation endpoint (Action=getSigninToken), and the sign-in URL it makes possible is opened in $BROWSER, else the platform's opener (xdg-open, open). The URL signs anyone in for 15 minutes, so it never appears in a command line: the browser gets a one-time local page (mode 0600, in rolepick's private cache directory) that leads to it and is removed 10 seconds later. Only role profiles can sign in (the endpoint refuses an MFA session's credentials); rolepick never sends the long-lived key. ROLEPICK_SIGNIN_ENDPOINT replaces the federation endpoint (its full URL up to /federation).",
        after_help = EXIT_CODES
    )]
    Console(ConsoleArgs),
    /// Manage long-lived keys in the vault (encrypted file or OS keychain)
    #[command(subcommand)]
    Vault(VaultCmd),
    /// IAM Identity Center: sign in, sign out, list every account and role.
    #[command(
        subcommand,
        long_about = "IAM Identity Center (SSO) sessions: `[sso-session NAME]` in ~/.aws/config (or an Identity Center [[source]] in config.toml). The token is shared with the AWS CLI (~/.aws/sso/cache). exec, env and credential-process sign in by themselves when no token can be refreshed; these commands do it on purpose.",
        after_help = EXIT_CODES
    )]
    Sso(SsoCmd),
    /// Replace a source's access key: create a new one, verify it, delete the old one
    #[command(
        long_about = "Rotate the long-lived access key of SOURCE (a key in rolepick's vault): \
sts:GetCallerIdentity and iam:ListAccessKeys; iam:CreateAccessKey, the new key stored in the vault \
next to the old one; the new key verified with sts:GetCallerIdentity (retried up to 60 s, \
ROLEPICK_ROTATE_VERIFY_TIMEOUT seconds); iam:DeleteAccessKey of the old key; the source's cached \
MFA session forgotten. Each stage is recorded in the vault first: after any failure or \
interruption the vault holds a working key, and rerunning (or --resume) finishes the job. When \
IAM refuses a call without MFA, rolepick asks for a code and retries with an MFA session.",
        after_help = EXIT_CODES
    )]
    Rotate(RotateArgs),
    /// Create the IAM user, MFA device, roles and policies, the key in the vault, the profiles
    #[command(
        long_about = "Set up the classic one-user, MFA, many-roles arrangement from bootstrap admin \
credentials (--bootstrap-profile, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment): \
the IAM user; a virtual MFA device (QR code and secret key in the terminal) enabled with two consecutive codes; \
roles that trust only this user with MFA, each with its policy attached (--role NAME:POLICY, else --policy); an inline user policy allowing \
only sts:AssumeRole on those roles, sts:GetSessionToken and rotating its own keys with MFA; an \
access key created straight into the vault; and the matching profiles in ~/.aws/config (existing \
content kept). Rerunning finds what exists and does only what is missing.",
        after_help = EXIT_CODES
    )]
    Setup(SetupArgs),
    /// Forget cached credentials: a profile's role credentials (and with --session its MFA session), or all of them
    #[command(
        long_about = "Remove cached credentials from rolepick's credential cache, as `aws-vault clear` does: PROFILE's cached role credentials; with --session also its source's MFA session, which every role of that source shares (for a profile that is an MFA session itself, that session); --all every cached role credential and MFA session. The next request gets new ones (a new MFA session asks for a code). Never touches the vault, nor the Identity Center token shared with the AWS CLI (`rolepick sso logout` ends that). A symlink in the cache is removed, never followed. The picker's `r` is unchanged.",
        after_help = EXIT_CODES
    )]
    Clear(ClearArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        long_about = "Print a completion script for your shell. In bash, zsh and fish, `exec`, `env`, `console`, `credential-process` and `clear` complete profile names (discovered Identity Center roles included), read from the configuration without any AWS call:\n  bash: source <(rolepick completions bash)\n  zsh:  rolepick completions zsh > \"${fpath[1]}/_rolepick\"\n  fish: rolepick completions fish > ~/.config/fish/completions/rolepick.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the rolepick(1) man page (roff), e.g. into ~/.local/share/man/man1/rolepick.1
    #[command(
        long_about = "Print the rolepick(1) manual page as roff, generated from the same definitions as --help:\n  rolepick man > ~/.local/share/man/man1/rolepick.1\n  rolepick man | man -l -"
    )]
    Man,
    /// Print the active role and time left, for your shell prompt (fast: the environment and the shell's state file only)
    #[command(
        long_about = "Print the active rolepick profile and the time its credentials have left, e.g. \"dev 42m\", from ROLEPICK_PROFILE and AWS_CREDENTIAL_EXPIRATION. Prints nothing outside a rolepick shell. Reads no file and calls nothing, so it is fast enough for a prompt."
    )]
    Prompt(PromptArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["profile", "all"])))]
pub struct ClearArgs {
    /// Profile whose cached credentials to remove
    pub profile: Option<String>,
    /// Also remove the MFA session of the profile's source (shared by
    /// every role of that source)
    #[arg(long, requires = "profile")]
    pub session: bool,
    /// Remove every cached role credential and MFA session
    #[arg(long, conflicts_with = "profile")]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

/// `rolepick prompt --format` default.
pub const DEFAULT_PROMPT_FORMAT: &str = "{profile} {left}";

#[derive(Args, Debug)]
pub struct PromptArgs {
    /// Output template: {profile} and {left} are replaced
    #[arg(long, default_value = DEFAULT_PROMPT_FORMAT)]
    pub format: String,
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Profile of ~/.aws/credentials with the admin key to set up with
    /// [default: AWS_ACCESS_KEY_ID etc. from the environment]
    #[arg(long, value_name = "PROFILE")]
    pub bootstrap_profile: Option<String>,
    /// IAM user to create
    #[arg(long, default_value = "rolepick-user")]
    pub user: String,
    /// Source (profile) name for the user's key [default: the user name]
    #[arg(long)]
    pub source: Option<String>,
    /// Role to create: NAME (in the bootstrap account) or NAME@ACCOUNT_ID
    /// (elsewhere: the trust policy and commands are printed); repeatable;
    /// the profile is PROFILE, else the role's name; POLICY (an AWS managed
    /// policy name such as ReadOnlyAccess, or an ARN) is attached to this
    /// role, else the one --policy names
    #[arg(
        long = "role",
        value_name = "[PROFILE=]NAME[@ACCOUNT][:POLICY]",
        default_value = "admin"
    )]
    pub roles: Vec<String>,
    /// Managed policy attached to each role that names none (an ARN, or an
    /// AWS managed policy name) [default: AdministratorAccess]
    #[arg(long, value_name = "ARN|NAME")]
    pub policy: Option<String>,
    /// Region written to the profiles
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Also write the new MFA device's QR code as a PNG here (mode 0600;
    /// it holds the device's secret: delete it once scanned)
    #[arg(long, value_name = "PATH")]
    pub qr_png: Option<std::path::PathBuf>,
    /// Two consecutive codes of the new MFA device (else asked on the terminal)
    #[arg(long, value_name = "CODE1,CODE2", value_delimiter = ',')]
    pub mfa_codes: Vec<String>,
    /// Compute the two codes from the device's seed (for the demo and tests
    /// against a local AWS stand-in; a real device's seed belongs in your
    /// authenticator app)
    #[arg(long, hide = true)]
    pub mfa_codes_from_seed: bool,
    /// Print every call and policy document; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// Source whose key to rotate (as `rolepick vault list` shows it)
    pub source: String,
    /// Print the plan; call nothing, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Finish an interrupted rotation (a plain rerun does the same)
    #[arg(long)]
    pub resume: bool,
    /// If the user has a second key that is Inactive, delete it to make room
    #[arg(long)]
    pub delete_other: bool,
    #[command(flatten)]
    pub mfa: MfaArgs,
}

#[derive(Subcommand, Debug)]
pub enum SsoCmd {
    /// Sign in to an Identity Center session in the browser (device code), unless its token can still be used or refreshed.
    Login(SsoLoginArgs),
    /// Sign out: the portal's Logout, then the token and the session's cached role credentials removed.
    Logout(SsoSessionArgs),
    /// List every account and role the session reaches (ListAccounts, ListAccountRoles) now, for `list`, exec and the picker.
    Sync(SsoSessionArgs),
}

#[derive(Args, Debug)]
pub struct SsoLoginArgs {
    /// The session (`[sso-session NAME]`, or a legacy profile's start URL); optional when only one is configured.
    pub session: Option<String>,
    /// Do not open a browser; print the URL and code (and a QR code on a terminal) only.
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Args, Debug)]
pub struct SsoSessionArgs {
    /// The session (`[sso-session NAME]`); all of them when omitted (logout: optional when only one is configured).
    pub session: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum VaultCmd {
    /// Store a source's access key (asked on the terminal, or JSON on stdin)
    Add(VaultAddArgs),
    /// Move a key from ~/.aws/credentials into the vault
    Import(VaultImportArgs),
    /// Sources, key ids, IAM users and key ages (never secrets)
    List(ListArgs),
    /// Delete a source's key from the vault
    Remove(VaultRemoveArgs),
    /// Change the vault passphrase
    Passwd,
}

#[derive(Args, Debug)]
pub struct VaultAddArgs {
    /// Source name (the profile holding the key, e.g. "primary")
    pub source: String,
    /// Read {"AccessKeyId": "...", "SecretAccessKey": "..."} from stdin
    #[arg(long)]
    pub stdin: bool,
    /// Do not check the key with sts:GetCallerIdentity
    #[arg(long)]
    pub no_verify: bool,
    /// Replace a key already stored for this source
    #[arg(long)]
    pub force: bool,
    /// The day the key was created, for its age [default: asked of IAM]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub created: Option<String>,
}

#[derive(Args, Debug)]
pub struct VaultImportArgs {
    /// Profile of ~/.aws/credentials whose key moves into the vault
    pub profile: String,
    /// Do not check the key with sts:GetCallerIdentity
    #[arg(long)]
    pub no_verify: bool,
    /// Delete the plaintext backup of the credentials file without asking
    #[arg(long)]
    pub yes: bool,
    /// The day the key was created, for its age [default: asked of IAM]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub created: Option<String>,
}

#[derive(Args, Debug)]
pub struct VaultRemoveArgs {
    pub source: String,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Profile from ~/.aws/config or config.toml
    pub profile: String,
    #[command(flatten)]
    pub mfa: MfaArgs,
    /// Allow running inside another rolepick shell
    #[arg(long)]
    pub nest: bool,
    /// Give the shell static credential variables instead of rolepick's
    /// refreshing endpoint (the default for a COMMAND)
    #[arg(long, conflicts_with = "server")]
    pub env_creds: bool,
    /// Give the command rolepick's loopback endpoint, which refreshes
    /// credentials before they expire (the default for a shell)
    #[arg(long)]
    pub server: bool,
    /// AWS_REGION and AWS_DEFAULT_REGION for the command, over the
    /// profile's `region`
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<String>,
    /// Length of the role session (15m to 12h: `1h`, `90m`, or seconds),
    /// over the profile's duration_seconds; cached credentials with less
    /// left than that (less refresh_before) are replaced
    #[arg(long, value_name = "DURATION", value_parser = parse_role_duration)]
    pub duration: Option<u32>,
    /// Assume the role straight from the long-lived key, with the MFA
    /// device and a code: no MFA session is made or used (the role's trust
    /// policy must allow the IAM user itself)
    #[arg(long)]
    pub no_session: bool,
    /// Command and arguments (after `--`); default: $SHELL
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// A region name's shape (`eu-west-3`, `us-gov-west-1`), so that a typo is
/// caught before anything runs with it. Which regions exist is AWS's to say.
pub fn parse_region(s: &str) -> Result<String, String> {
    if crate::model::is_region_name(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a region name; regions look like us-east-1 or eu-west-3"
        ))
    }
}

/// A role session's length for `exec --duration`: seconds (`3600`) or a
/// duration (`1h`, `90m`, `1h30m`), within what AWS allows (15 min to 12 h).
pub fn parse_role_duration(s: &str) -> Result<u32, String> {
    let range = crate::config::ROLE_SECS;
    let secs = match s.parse::<u64>() {
        Ok(n) => n,
        Err(_) => humantime::parse_duration(s)
            .map_err(|_| {
                format!(
                    "{s:?} is not a duration; use seconds (3600) or a duration such as 1h or 90m"
                )
            })?
            .as_secs(),
    };
    u32::try_from(secs)
        .ok()
        .filter(|d| range.contains(d))
        .ok_or_else(|| {
            format!(
                "{s:?} ({secs} s) is outside what AWS allows for a role session: 15m ({} s) to 12h ({} s); the role's own maximum may be lower still",
                range.start(),
                range.end()
            )
        })
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum EnvFormat {
    Sh,
    Fish,
    Json,
    Dotenv,
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    pub profile: String,
    #[arg(long, value_enum, default_value = "sh")]
    pub format: EnvFormat,
    /// AWS_REGION and AWS_DEFAULT_REGION to print, over the profile's `region`
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<String>,
    #[command(flatten)]
    pub mfa: MfaArgs,
}

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// Role profile from ~/.aws/config or config.toml
    pub profile: String,
    /// Print the sign-in URL on stdout instead of opening a browser (it
    /// signs anyone in as the role for 15 minutes: keep it out of logs)
    #[arg(long)]
    pub print: bool,
    /// Where to land: a service's console (s3, ec2, cloudwatch, ...) or an
    /// https console URL [default: the console home]
    #[arg(long, value_name = "SERVICE|URL")]
    pub destination: Option<String>,
    /// The console's region, over the profile's `region`
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<String>,
    #[command(flatten)]
    pub mfa: MfaArgs,
}

#[derive(Args, Debug)]
pub struct ProfileArgs {
    pub profile: String,
    #[command(flatten)]
    pub mfa: MfaArgs,
}

#[cfg(test)]
mod tests {
    use super::{parse_region, parse_role_duration};

    #[test]
    fn role_durations_take_seconds_or_a_duration_within_15m_to_12h() {
        for (given, secs) in [
            ("3600", 3600),
            ("1h", 3600),
            ("90m", 5400),
            ("15m", 900),
            ("12h", 43_200),
            ("1h30m", 5400),
        ] {
            assert_eq!(parse_role_duration(given), Ok(secs), "{given}");
        }
        for bad in [
            "899",
            "14m",
            "12h1s",
            "13h",
            "99999999999999",
            "soon",
            "-1",
            "",
        ] {
            let e = parse_role_duration(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn region_names_are_checked_for_shape_only() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
        ] {
            assert_eq!(parse_region(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "Frankfurt",
            "US-east-1",
            "us-east",
            "useast1",
            "us-east-123",
            "us--1",
            "u-east-1",
        ] {
            let e = parse_region(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
