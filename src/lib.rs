//! rolepick: one MFA, many roles. A terminal picker and CLI that turns one
//! long-lived IAM user key into an MFA session and role credentials across
//! accounts, handed to programs only through their environment.
#![forbid(unsafe_code)]

// The entry points: the command line and one file per subcommand.
/// Command-line interface definitions (clap types stop at `cmd/`).
pub mod cli;
/// Subcommands; the only code that writes to stdout.
pub mod cmd;

// Core: what the subcommands call.
/// Setup, key rotation, the vault's keys, console sign-in.
pub mod admin;
/// The picker's pure core: state, messages, update (no I/O).
pub mod app;
/// From a profile name to temporary credentials, one module per source kind.
pub mod engine;
/// The picker's I/O: its runtime and the service behind it.
pub mod picker;
/// Running children with credentials, the credential endpoint, the terminal person.
pub mod run;
/// The picker's terminal edges: raw mode and alternate screen, input and signals.
pub mod tui;
/// Drawing the picker (ratatui); read-only over `app::state::State`.
pub mod ui;
/// The warm path of `exec`, for the small `rolepick` program.
pub mod warm;

// Edges: I/O, each on its own, never importing each other.
/// Talking to AWS (STS, IAM, Identity Center, federation), with typed errors.
pub mod aws;
/// Temporary-credential cache, written through `fsutil`.
pub mod cache;
/// Reading and merging ~/.aws/config, ~/.aws/credentials and config.toml.
pub mod config;
/// The only place that spawns processes.
pub mod shell;
/// IAM Identity Center's own I/O: token cache, token, discovery, sign-in on stderr.
pub mod sso;
/// Long-lived keys: the encrypted vault, the OS keychain, the credentials file.
pub mod vault;

// Leaves: plain data and tools that import nothing of ours but each other.
/// The only reader of the wall clock.
pub mod clock;
/// Warnings and verbose notes on stderr.
pub mod diag;
/// The error type and exit codes.
pub mod error;
/// File safety: checked private directories, 0600 files without following
/// symlinks, atomic replacement, locks.
pub mod fsutil;
/// The INI dialect of `~/.aws/config` and `~/.aws/credentials`, with file:line errors.
pub mod ini;
/// Plain data: sources, accounts, profiles, settings.
pub mod model;
/// Secret types: zeroized on drop, redacted in `Debug`, never serialized.
pub mod secret;
/// How the time credentials have left is written (picker, list, prompt).
pub mod timefmt;

use cli::{Cli, Cmd};
use error::Error;

/// Runs the parsed command line; returns the process exit status.
pub fn run(mut cli: Cli) -> Result<u8, Error> {
    // `rolepick --nest exec ...` means what `rolepick exec --nest ...` does.
    if let Some(Cmd::Exec(a)) = &mut cli.command {
        a.nest |= cli.nest;
    }
    match &cli.command {
        Some(Cmd::Exec(a)) => cmd::exec::run(a, &cli.global),
        Some(Cmd::List(a)) => cmd::list::run(a, &cli.global),
        Some(Cmd::Env(a)) => cmd::env::run(a, &cli.global),
        Some(Cmd::CredentialProcess(a)) => cmd::credential_process::run(a, &cli.global),
        Some(Cmd::Console(a)) => cmd::console::run(a, &cli.global),
        Some(Cmd::Vault(v)) => cmd::vault::run(v, &cli.global),
        Some(Cmd::Sso(s)) => cmd::sso::run(s, &cli.global),
        Some(Cmd::Rotate(a)) => cmd::rotate::run(a, &cli.global),
        Some(Cmd::Setup(a)) => cmd::setup::run(a, &cli.global),
        Some(Cmd::Clear(a)) => cmd::clear::run(a, &cli.global),
        Some(Cmd::Completions(a)) => cmd::completions::run(a),
        Some(Cmd::Man) => cmd::man::run(),
        Some(Cmd::Prompt(a)) => cmd::prompt::run(a),
        None => cmd::picker::run(&cli.global, cli.nest, cli.env_creds),
    }
}
