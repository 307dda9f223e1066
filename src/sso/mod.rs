//! IAM Identity Center's own I/O: the token cache shared with the AWS CLI,
//! the token itself (refresh, device sign-in, one at a time), the discovery
//! of every account and role a sign-in reaches, and the sign-in shown on
//! stderr for the command line.

/// The token cache shared with the AWS CLI (`~/.aws/sso/cache`).
pub mod cache;
/// An Identity Center sign-in shown on stderr: URL, code, QR code, browser.
pub mod cli_signin;
/// Every account and role a sign-in reaches, cached, as profiles.
pub mod discovery;
/// A usable token: cache, refresh, device sign-in, one at a time.
pub mod token;
