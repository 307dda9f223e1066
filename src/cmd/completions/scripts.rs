//! Shell completion scripts: clap's, plus profile names for the
//! subcommands that take one (`exec`, `env`, `console`,
//! `credential-process`, `clear`). The scripts ask `rolepick
//! __complete-profiles` for the names when the user presses Tab: the
//! configured profiles and the Identity Center roles of the cached
//! listings, read like any command reads them (the configuration's
//! snapshot, no network call, no key, no unlock).

use clap::CommandFactory;

/// Subcommands whose first positional argument is a profile name.
pub const PROFILE_SUBCOMMANDS: [&str; 5] =
    ["exec", "env", "console", "credential-process", "clear"];

/// The hidden subcommand the scripts call.
pub const LIST_PROFILES: &str = "__complete-profiles";

/// The completion script for `shell`, with profile names where a profile
/// is expected (bash, zsh, fish; other shells get clap's script as is).
pub fn script(shell: clap_complete::Shell) -> String {
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rolepick", &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => bash(&text),
        clap_complete::Shell::Zsh => zsh(&text),
        clap_complete::Shell::Fish => fish(&text),
        _ => text,
    }
}

/// The command the scripts run for the names (stderr dropped: a warning
/// about the configuration must not land on the command line).
fn list_command() -> String {
    format!("rolepick {LIST_PROFILES} 2>/dev/null")
}

/// bash: the names join each subcommand's `opts` (what `compgen -W`
/// offers) unless an option is being typed.
fn bash(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1024);
    let mut section: Option<&str> = None;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        let t = line.trim();
        if let Some(sub) = t
            .strip_prefix("rolepick__subcmd__")
            .and_then(|s| s.strip_suffix(')'))
        {
            section = Some(sub);
            continue;
        }
        if t.starts_with("opts=\"") {
            let wanted = section.is_some_and(|s| {
                PROFILE_SUBCOMMANDS
                    .iter()
                    .any(|p| s == p.replace('-', "__subcmd__"))
            });
            if wanted {
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!(
                    "{indent}if [[ ${{cur}} != -* ]]; then opts=\"${{opts}} $({})\"; fi\n",
                    list_command()
                ));
            }
            section = None;
        }
    }
    out
}

/// zsh: the subcommands' `profile` argument completes with
/// `_rolepick_profiles` instead of `_default`.
fn zsh(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1024);
    let mut section = "";
    for line in text.lines() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            section = s;
        }
        let profile_arg = (line.starts_with("':profile") || line.starts_with("'::profile"))
            && PROFILE_SUBCOMMANDS.contains(&section);
        match line.strip_suffix(":_default' \\") {
            Some(head) if profile_arg => {
                out.push_str(head);
                out.push_str(":_rolepick_profiles' \\\n");
            }
            _ => {
                if line.starts_with("if [ \"$funcstack[1]\" = \"_rolepick\" ]") {
                    out.push_str(&format!(
                        "(( $+functions[_rolepick_profiles] )) ||\n_rolepick_profiles() {{\n    local -a profiles expl\n    profiles=(${{(f)\"$({})\"}})\n    _wanted profiles expl 'profile' compadd -a profiles\n}}\n\n",
                        list_command()
                    ));
                }
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// fish: one more rule per subcommand, offering the names.
fn fish(text: &str) -> String {
    let mut out = text.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "complete -c rolepick -n \"__fish_rolepick_using_subcommand {}; and not __fish_seen_subcommand_from --\" -f -a \"({})\" -d profile\n",
        PROFILE_SUBCOMMANDS.join(" "),
        list_command()
    ));
    out
}

/// What `rolepick __complete-profiles` prints: one name a line, names a
/// shell word cannot carry (blanks, control characters) left out.
pub fn profile_lines(model: &crate::model::Model) -> String {
    let mut out = String::new();
    for p in &model.profiles {
        if p.name.is_empty() || p.name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            continue;
        }
        out.push_str(&p.name);
        out.push('\n');
    }
    out
}
