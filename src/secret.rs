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

    /// An empty secret to type into, with room for `capacity` bytes. While
    /// [`SecretString::push`] keeps within it the buffer never moves, so no
    /// copy of a half-typed secret is left behind in freed memory.
    pub fn with_capacity(capacity: usize) -> Self {
        SecretString(String::with_capacity(capacity))
    }

    /// Appends `c` if it fits in the capacity; false (and nothing changes) if not.
    pub fn push(&mut self, c: char) -> bool {
        if self.0.len() + c.len_utf8() > self.0.capacity() {
            return false;
        }
        self.0.push(c);
        true
    }

    /// Removes the last character (its bytes stay in the buffer until drop,
    /// which zeroes the whole capacity).
    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// Empties the secret, zeroing it, and keeps the buffer.
    pub fn clear(&mut self) {
        self.0.zeroize();
    }

    /// Characters typed, for a masked display.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
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
    fn typing_into_a_secret_never_grows_its_buffer() {
        let mut s = SecretString::with_capacity(4);
        assert!(s.push('a'));
        assert!(s.push('é'));
        assert!(s.push('b'));
        assert!(!s.push('c'), "the fifth byte does not fit");
        assert_eq!(s.expose(), "aéb");
        assert_eq!(s.chars(), 3);
        s.pop();
        assert_eq!(s.expose(), "aé");
        s.clear();
        assert!(s.is_empty());
        assert!(s.push('x'), "the buffer is kept");
    }

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
