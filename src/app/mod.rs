//! The picker's core, in the Elm shape: [`Msg`](crate::app::msg::Msg) in, [`update`](crate::app::update::update)
//! changes [`State`](crate::app::state::State) and returns [`Effect`](crate::app::msg::Effect)s, [`runtime`](crate::picker::runtime) performs
//! them and feeds results back as messages. Only `runtime` does I/O.

#[cfg(test)]
pub(crate) mod fixture;
pub mod flow;
pub mod list;
pub mod msg;
pub mod state;
pub mod update;
