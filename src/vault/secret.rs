//! Secret-holding types: zeroized on drop, `Debug` redacted, no `Serialize`.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A string that must never be printed or persisted by accident.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> Self {
        SecretString(s)
    }

    /// The secret itself. Call only where the value is sent to AWS, written
    /// to the cache, or handed to a child by design.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A long-lived IAM user access key.
#[derive(Clone, Debug)]
pub struct LongLivedKey {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let k = LongLivedKey {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: SecretString::new("wJalrXUtnFEMI/K7MDENG".into()),
        };
        let shown = format!("{k:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
