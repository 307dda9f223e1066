//! The picker's core, in the Elm shape: [`msg::Msg`] in, [`update::update`]
//! changes [`state::State`] and returns [`msg::Effect`]s, [`runtime`] performs
//! them and feeds results back as messages. Only `runtime` does I/O.

pub mod msg;
pub mod runtime;
pub mod state;
pub mod update;
