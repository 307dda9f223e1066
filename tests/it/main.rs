//! rolepick's integration tests: one test binary (`it`), one module per
//! area, all sharing `support` (moto, the recording proxy, the sandbox HOME,
//! the stand-ins). One binary links the crate and its dependencies once
//! instead of once per file.
//!
//! Run one area with `cargo nextest run -E 'test(/^picker_e2e::/)'` or
//! `cargo test --test it picker_e2e::`.

mod support;

mod architecture;
mod bad_input;
mod cli_errors;
mod cli_walkthrough;
mod config_snapshot;
mod console;
mod credserver;
mod credserver_flood;
mod hardening;
mod install;
mod keyring;
mod picker_e2e;
mod picker_render;
mod rotate;
mod setup;
mod sso;
mod sso_cli;
mod test_infra;
mod two_programs;
mod vault;
