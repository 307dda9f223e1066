//! rolepick: one MFA, many roles. A terminal picker and CLI that turns one
//! long-lived IAM user key into an MFA session and role credentials across
//! accounts, handed to programs only through their environment.
#![forbid(unsafe_code)]

/// The picker's core: state, messages, pure update, and the runtime that does its I/O.
pub mod app;
/// Talking to AWS STS, with typed errors.
pub mod aws;
/// Temporary-credential cache, written through `fsutil`.
pub mod cache;
/// Running a child with credentials: static variables or the endpoint (`ChildSpec`).
pub mod child;
/// Command-line interface definitions.
pub mod cli;
/// The only reader of the wall clock.
pub mod clock;
/// Subcommands; the only code that writes to stdout.
pub mod cmd;
/// Shell completion scripts, with profile names where a profile is expected.
pub mod completion;
/// Reading and merging ~/.aws/config, ~/.aws/credentials and config.toml.
pub mod config;
/// Console sign-in: a role's sign-in URL, handed to a browser by a one-time page.
pub mod console;
/// Loopback endpoint serving refreshed credentials to subshells.
pub mod credserver;
/// Warnings and verbose notes on stderr.
pub mod diag;
/// From a profile name to temporary credentials.
pub mod engine;
/// The error type and exit codes.
pub mod error;
/// Borrowing the terminal from a job of rolepick's shell to ask for a code.
pub mod foreground;
/// File safety: checked private directories, 0600 files without following
/// symlinks, atomic replacement, locks.
pub mod fsutil;
/// The INI dialect of `~/.aws/config` and `~/.aws/credentials`, with file:line errors.
pub mod ini;
/// The registry of live rolepick shells (`<cache>/shells/<pid>`).
pub mod live;
/// The rolepick(1) manual page, rendered from the clap definitions.
pub mod manpage;
/// Plain data: sources, accounts, profiles, settings.
pub mod model;
/// The picker's engine service: the engine and the vault behind the picker's runtime.
pub mod picker_service;
/// The two programs, `rolepick` (small, the warm path) and `rolepick-full`.
pub mod program;
/// Asking the user for an MFA code or the vault passphrase.
pub mod prompt;
/// Rotating a source's long-lived key, resumable at every stage.
pub mod rotate;
/// Secret types: zeroized on drop, redacted in `Debug`, never serialized.
pub mod secret;
/// `rolepick setup`: IAM user, MFA device, roles, key and profiles, idempotent.
pub mod setup;
/// The only place that spawns processes.
pub mod shell;
/// The IAM Identity Center token cache shared with the AWS CLI (~/.aws/sso/cache).
pub mod sso_cache;
/// Every account and role an Identity Center sign-in reaches, cached, as profiles.
pub mod sso_discovery;
/// An Identity Center sign-in shown on stderr: URL, code, QR code, browser.
pub mod sso_signin;
/// A usable Identity Center token: cache, refresh, device sign-in, one at a time.
pub mod sso_token;
/// The person at the terminal: `/dev/tty` lines, secrets, MFA codes for the CLI and the endpoint.
pub mod terminal;
/// How the time credentials have left is written (picker, list, prompt).
pub mod timefmt;
/// The picker's terminal edges: raw mode and alternate screen, input and signals.
pub mod tui;
/// Drawing the picker (ratatui); read-only over `app::state::State`.
pub mod ui;
/// Long-lived keys: the encrypted vault, the OS keychain, the credentials file.
pub mod vault;
/// Managing the vault's keys: add, import, list, remove, new passphrase.
pub mod vault_admin;
/// The warm path of `exec`, for the small `rolepick` program.
pub mod warm;

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
        None => cmd::tui::run(&cli.global, cli.nest, cli.env_creds),
    }
}
