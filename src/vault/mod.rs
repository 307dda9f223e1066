//! Where long-lived keys live. `secret` holds the zeroizing secret types;
//! `keys` the lookup of a source's key (credentials file today, the
//! encrypted vault slots in behind the same trait).

pub mod keys;
pub mod secret;
