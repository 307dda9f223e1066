//! The terminal edges of the picker: putting the terminal into (and always
//! back out of) full-screen raw mode, and turning terminal input and signals
//! into [`crate::app::msg::Msg`]s.

pub mod events;
pub mod terminal;
