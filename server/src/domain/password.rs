use std::fmt;

use taskapi_api::auth::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};

/// A new account's password: [`PASSWORD_MIN_CHARS`] to [`PASSWORD_MAX_CHARS`] characters,
/// no composition rules (NIST SP 800-63B). Its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
            return Err(format!(
                "must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"
            ));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Password::parse("é".repeat(PASSWORD_MIN_CHARS - 1)).is_err());
        assert!(Password::parse("é".repeat(PASSWORD_MIN_CHARS)).is_ok());
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS)).is_ok());
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn debug_output_is_redacted() {
        let password = Password::parse("correct horse".to_owned()).expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }
}
