//! The picker's I/O around the pure core in [`crate::app`]: the runtime that
//! draws, reads keys and performs the effects `update` returns, and the
//! service behind it (the engine, the vault, shells, the console).

/// The event loop: terminal, timers, effects, back to messages.
pub mod runtime;
/// The engine and the vault behind the picker: credentials, shells, sign-ins.
pub mod service;
