//! rolepick(1), the manual page, rendered from the same clap definitions as
//! `--help` so that the two cannot drift.
//!
//! One complete page, the way ripgrep ships one: the synopsis and options of
//! rolepick and of every subcommand (clap_mangen), the exit codes (parsed
//! from the very list `--help` prints), then the environment, the files and
//! examples, which `--help` only summarises.

use crate::cli::Cli;
use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

/// Variables rolepick reads, or sets for the commands it runs; ENVIRONMENT.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "ROLEPICK_CONFIG",
        "rolepick's config.toml, as --config gives it (which wins).",
    ),
    (
        "ROLEPICK_CACHE_DIR",
        "The directory of cached temporary credentials (see FILES).",
    ),
    (
        "ROLEPICK_VAULT_FILE",
        "The encrypted vault file, unless config.toml's [vault] path names one.",
    ),
    (
        "ROLEPICK_VAULT_PASSPHRASE",
        "The vault passphrase, for automation only: prefer passphrase_command in config.toml. \
Never passed on to the commands rolepick runs.",
    ),
    (
        "ROLEPICK_VAULT_NEW_PASSPHRASE",
        "The passphrase of a new vault (vault add, vault import) or the new one for vault passwd, \
instead of asking twice on the terminal. Never passed on to the commands rolepick runs.",
    ),
    (
        "ROLEPICK_ROTATE_VERIFY_TIMEOUT",
        "Seconds rotate waits for a new access key to work (default 60).",
    ),
    (
        "ROLEPICK_PROFILE",
        "Set by rolepick in the commands and shells it runs: the profile. rolepick refuses to \
start another shell while it is set, unless --nest; rolepick prompt prints it.",
    ),
    (
        "ROLEPICK_SHELL_STATE",
        "Set by rolepick in a shell on its credential endpoint: a one-line file with the time \
the shell's credentials last until, which rolepick prompt reads.",
    ),
    (
        "ROLEPICK_SHARED_CREDENTIALS_FILE",
        "Set by rolepick when it pointed a shell's AWS_SHARED_CREDENTIALS_FILE at /dev/null: the \
real credentials file, for a rolepick run inside that shell.",
    ),
    (
        "ROLEPICK_SIGNIN_ENDPOINT",
        "The console federation endpoint rolepick console uses (the full URL up to /federation), \
instead of the one of the role ARN's partition: a local stand-in in tests and the demo.",
    ),
    (
        "BROWSER",
        "The browser rolepick console opens (its first :-separated entry; %s is replaced by the \
page, else it is appended); without it, xdg-open (open on macOS).",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "Set by rolepick for a command run with static credentials (exec -- COMMAND, --env-creds, \
env). Inherited ones, AWS_PROFILE and AWS_DEFAULT_PROFILE are removed from what a command gets.",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "Set by rolepick for a shell (or exec --server): its loopback credential endpoint, which \
keeps the credentials fresh.",
    ),
    (
        "AWS_REGION, AWS_DEFAULT_REGION",
        "Set by rolepick from the profile's region, or --region.",
    ),
    (
        "AWS_CREDENTIAL_EXPIRATION",
        "Set by rolepick: when the command's credentials (or, on the endpoint, the MFA session) \
expire, in RFC 3339.",
    ),
    (
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
        "Where ~/.aws/config and ~/.aws/credentials are, as for the aws CLI.",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM",
        "Send STS and IAM calls to another endpoint (a local stand-in in tests).",
    ),
    (
        "XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME, XDG_RUNTIME_DIR",
        "Where config.toml, the vault and the cache go by default (see FILES).",
    ),
    (
        "SHELL",
        "The shell exec and the picker start when no command is given.",
    ),
    (
        "NO_COLOR",
        "When set to a non-empty value, the picker uses no colour.",
    ),
];

/// Files rolepick reads and writes; FILES.
pub const FILES: &[(&str, &str)] = &[
    (
        "rolepick-full",
        "The program for everything but a warm exec, env or credential-process and prompt, which rolepick serves \
itself: rolepick runs it with the same arguments and environment. It is found beside \
rolepick, else in ../libexec/rolepick/ from it (/usr/libexec/rolepick/ in the Debian package); without /proc, beside what \
rolepick's argv[0] names (searched in PATH), else in the libexec directory fixed at build time.",
    ),
    (
        "~/.aws/config",
        "Profiles: source_profile, role_arn, mfa_serial, region, duration_seconds \
(AWS_CONFIG_FILE).",
    ),
    (
        "~/.aws/credentials",
        "Long-lived keys, for the credentials-file backend (AWS_SHARED_CREDENTIALS_FILE). \
rolepick refuses to read it when others can.",
    ),
    (
        "~/.config/rolepick/config.toml",
        "rolepick's own configuration: sources, accounts, roles, settings ($XDG_CONFIG_HOME, \
--config, ROLEPICK_CONFIG). config.example.toml documents every key.",
    ),
    (
        "~/.local/share/rolepick/vault.age",
        "The encrypted vault of long-lived keys (age, scrypt passphrase; mode 0600), and \
vault-index.json beside it: key ids and ages, never secrets ($XDG_DATA_HOME, \
ROLEPICK_VAULT_FILE).",
    ),
    (
        "$XDG_RUNTIME_DIR/rolepick, else ~/.cache/rolepick",
        "The cache: temporary credentials only (MFA sessions and role credentials), one 0600 \
file each, in a 0700 directory (ROLEPICK_CACHE_DIR).",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "rolepick exec admin -- aws sts get-caller-identity",
        "Run one command as the profile admin; asks for the MFA code once.",
    ),
    (
        "rolepick exec dev",
        "A shell as dev, its credentials kept fresh; exit to leave.",
    ),
    (
        "rolepick list --json",
        "Every profile and the expiry of its cached credentials.",
    ),
    (
        "rolepick vault import primary",
        "Move the key of [primary] out of ~/.aws/credentials into the vault.",
    ),
    (
        "rolepick man > ~/.local/share/man/man1/rolepick.1",
        "Install this page for your user.",
    ),
];

/// The whole page, roff source.
pub fn render() -> String {
    // As `--help` says it: "[COMMAND]", "Commands:".
    let mut root = Cli::command()
        .subcommand_value_name("COMMAND")
        .subcommand_help_heading("COMMANDS");
    root.build();
    let man = Man::new(root.clone());

    let mut page = Roff::new().render(); // roff's preamble, once
                                         // .TH by hand: the roff crate drops an empty argument (no date), which
                                         // would shift the others.
    page += &format!(
        ".TH ROLEPICK 1 \"{}\" \"rolepick {}\" \"User Commands\"\n",
        env!("ROLEPICK_COMMIT_DATE"),
        env!("CARGO_PKG_VERSION")
    );
    page += &piece(|w| man.render_name_section(w));
    page += &piece(|w| man.render_synopsis_section(w));

    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    description(&mut roff, &root);
    page += &roff.to_roff();

    page += &piece(|w| man.render_options_section(w));

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    page += &roff.to_roff();
    for sub in visible_subcommands(&root) {
        page += &command_section(sub);
    }

    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    let help = root.get_after_help().map(ToString::to_string);
    for (code, meaning) in exit_codes(help.as_deref().unwrap_or_default()) {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
    tagged_section(&mut roff, "ENVIRONMENT", ENVIRONMENT, bold);
    tagged_section(&mut roff, "FILES", FILES, italic);
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        roff.control("TP", []);
        roff.text([bold(*command)]);
        roff.text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("aws"),
        roman("(1); "),
        italic("config.example.toml"),
        roman(
            " and README.md (in /usr/share/doc/rolepick when installed from the Debian package) \
for the configuration keys, the vault, key rotation and the security model.",
        ),
    ]);
    page += &roff.to_roff();
    page += &piece(|w| man.render_version_section(w));
    page
}

fn tagged_section(
    roff: &mut Roff,
    heading: &str,
    items: &[(&str, &str)],
    tag: fn(String) -> Inline,
) {
    roff.control("SH", [heading]);
    for (name, what) in items {
        roff.control("TP", []);
        roff.text([tag((*name).to_string())]);
        roff.text([roman(*what)]);
    }
}

/// `.SS rolepick exec`, its synopsis, description and own options, then
/// the same for its subcommands (`rolepick vault add`, ...).
fn command_section(sub: &clap::Command) -> String {
    // Global options (--config, -v) and -h are described once, under OPTIONS.
    let sub = sub.clone().subcommand_value_name("COMMAND").mut_args(|a| {
        if a.is_global_set() || a.get_id() == "help" {
            a.hide(true)
        } else {
            a
        }
    });
    let name = sub
        .get_bin_name()
        .map_or_else(|| format!("rolepick {}", sub.get_name()), str::to_string);
    let mut out = Roff::new();
    out.control("SS", [name.as_str()]);
    let mut text = out.to_roff();
    let man = Man::new(sub.clone());
    text += without_heading(&piece(|w| man.render_synopsis_section(w)));
    let mut roff = Roff::new();
    roff.control("PP", []);
    description(&mut roff, &sub);
    text += &roff.to_roff();
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        text += without_heading(&piece(|w| man.render_options_section(w)));
    }
    for child in visible_subcommands(&sub) {
        text += &command_section(child);
    }
    text
}

fn visible_subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// The long help as paragraphs; lines indented in it (examples) stay lines.
fn description(roff: &mut Roff, cmd: &clap::Command) {
    let Some(about) = cmd.get_long_about().or_else(|| cmd.get_about()) else {
        return;
    };
    let about = about.to_string();
    let mut literal = false;
    for line in about.lines() {
        let indented = line.starts_with(char::is_whitespace) && !line.trim().is_empty();
        if indented != literal {
            if indented {
                roff.control("RS", []).control("nf", []);
            } else {
                roff.control("fi", []).control("RE", []);
            }
            literal = indented;
        }
        if line.trim().is_empty() {
            roff.control("PP", []);
        } else if indented {
            roff.text([bold(line.trim())]);
        } else {
            roff.text([roman(line)]);
        }
    }
    if literal {
        roff.control("fi", []).control("RE", []);
    }
}

/// The entries of the "Exit codes:" list of `--help` (its after-help text):
/// `  CODE  meaning`, with continuation lines indented further.
pub fn exit_codes(help: &str) -> Vec<(String, String)> {
    let mut codes: Vec<(String, String)> = Vec::new();
    let mut lines = help
        .lines()
        .skip_while(|l| l.trim() != "Exit codes:")
        .skip(1);
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        let trimmed = line.trim_start();
        let code: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
        let rest = &trimmed[code.len()..];
        if !code.is_empty() && rest.starts_with(char::is_whitespace) {
            codes.push((code, rest.trim().to_string()));
        } else if let Some((_, meaning)) = codes.last_mut() {
            meaning.push(' ');
            meaning.push_str(trimmed.trim_end());
        }
    }
    codes
}

/// What a clap_mangen `render_*` call wrote, without roff's preamble (the
/// page has it once, at the top).
fn piece(render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail; the roff of UTF-8 text is UTF-8.
    render(&mut buf).expect("writing into a Vec");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let preamble = Roff::new().render();
    text.strip_prefix(&preamble)
        .map_or_else(|| text.clone(), str::to_string)
}

/// A section's body without its `.SH` line: subcommands' synopses and
/// options go under their `.SS` heading.
fn without_heading(section: &str) -> &str {
    match section.split_once('\n') {
        Some((first, rest)) if first.starts_with(".SH") => rest,
        _ => section,
    }
}

#[cfg(test)]
mod tests {
    use super::exit_codes;

    #[test]
    fn exit_codes_are_read_with_their_continuation_lines() {
        let help = "Exit codes:\n  0     success (exec: the status; a command\n        killed by N gives 128+N)\n  2     usage error\n  127   not found\n\nFiles: 3 of them";
        assert_eq!(
            exit_codes(help),
            vec![
                (
                    "0".to_string(),
                    "success (exec: the status; a command killed by N gives 128+N)".to_string()
                ),
                ("2".to_string(), "usage error".to_string()),
                ("127".to_string(), "not found".to_string()),
            ]
        );
    }
}
