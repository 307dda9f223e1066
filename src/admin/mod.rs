//! Administration of the one long-lived credential and its uses: `setup`,
//! key rotation, the vault's keys, console sign-in.

/// Console sign-in: a role's sign-in URL, handed to a browser by a one-time page.
pub mod console;
/// Rotating a source's long-lived key, resumable at every stage.
pub mod rotate;
/// `rolepick setup`: IAM user, MFA device, roles, key and profiles, idempotent.
pub mod setup;
/// Managing the vault's keys: add, import, list, remove, new passphrase.
pub mod vault;
