//! Running programs with credentials: the child and its environment, the
//! loopback credential endpoint for shells, the registry of live shells,
//! and the person at the terminal (asked for a code, the terminal borrowed
//! from a shell's foreground job).

/// Running a child with credentials: static variables or the endpoint (`ChildSpec`).
pub mod child;
/// Loopback endpoint serving refreshed credentials to subshells.
pub mod credserver;
/// Borrowing the terminal from a job of rolepick's shell to ask for a code.
pub mod foreground;
/// The registry of live rolepick shells (`<cache>/shells/<pid>`).
pub mod live;
/// The person at the terminal: `/dev/tty` lines, secrets, MFA codes for the CLI and the endpoint.
pub mod tty;
