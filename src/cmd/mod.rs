//! One file per subcommand: parse the arguments, call one library
//! function, print. The only code that writes to stdout; no file here
//! imports another.

pub mod clear;
pub mod completions;
pub mod console;
pub mod credential_process;
pub mod env;
pub mod exec;
pub mod list;
pub mod man;
pub mod picker;
pub mod prompt;
pub mod rotate;
pub mod setup;
pub mod sso;
pub mod vault;
