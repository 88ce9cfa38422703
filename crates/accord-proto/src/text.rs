//! Bounded, printable text fields (spec/encoding.md §6).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A text field of at most `MAX` UTF-8 bytes without control characters
/// other than newline and tab. Its limit is part of its type, so a value
/// that exists is valid.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoundedText<const MAX: usize>(String);

/// Text that is too long or holds control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Longer than the field allows.
    #[error("text is {len} bytes, the limit is {max}")]
    TooLong {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// Holds a control character (other than `\n` and `\t`).
    #[error("text holds a control character")]
    ControlCharacter,
    /// Empty where text is required.
    #[error("text is empty")]
    Empty,
}

impl<const MAX: usize> BoundedText<MAX> {
    /// Validates `text` against the limit and the character rule.
    pub fn new(text: impl Into<String>) -> Result<Self, TextError> {
        let text = text.into();
        if text.len() > MAX {
            return Err(TextError::TooLong { len: text.len(), max: MAX });
        }
        if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(text))
    }

    /// Like [`Self::new`], but also refuses the empty string.
    pub fn non_empty(text: impl Into<String>) -> Result<Self, TextError> {
        let t = Self::new(text)?;
        if t.0.is_empty() { Err(TextError::Empty) } else { Ok(t) }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> TryFrom<String> for BoundedText<MAX> {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl<const MAX: usize> From<BoundedText<MAX>> for String {
    fn from(t: BoundedText<MAX>) -> String {
        t.0
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> fmt::Debug for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A reason attached to a moderation action or list entry.
pub type Reason = BoundedText<{ crate::limits::MAX_REASON }>;
