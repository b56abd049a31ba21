use std::{collections::HashSet, fmt, sync::LazyLock};

use taskapi_api::users::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use unicode_normalization::UnicodeNormalization;

/// The 10,000 most common passwords of at least [`PASSWORD_MIN_CHARS`] characters, lowercase
/// (see `server/data/common-passwords.NOTICE.md` for their source and licence).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .collect()
});

/// A password as the server hashes and verifies it: Unicode NFC, so that the same password
/// typed on systems that compose accents differently is one password.
pub fn normalized(raw: &str) -> String {
    raw.nfc().collect()
}

/// A new password (ASVS 5.0 §6.2): [`PASSWORD_MIN_CHARS`] to [`PASSWORD_MAX_CHARS`]
/// characters counted after NFC, no composition rules, and not one of the most common
/// passwords (compared ignoring letter case). Kept in NFC; its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(secrecy::SecretString);

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        let password = normalized(&raw);
        let chars = password.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(super::too_short(PASSWORD_MIN_CHARS));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(super::too_long(PASSWORD_MAX_CHARS));
        }
        if COMMON_PASSWORDS.contains(password.to_lowercase().as_str()) {
            return Err(
                "is one of the most commonly used passwords, which attackers try first; \
                 choose another"
                    .to_owned(),
            );
        }
        Ok(Self(password.into()))
    }

    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
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
    fn length_is_counted_in_characters_after_nfc() {
        assert!(Password::parse("é".repeat(PASSWORD_MIN_CHARS - 1)).is_err());
        assert!(Password::parse("é".repeat(PASSWORD_MIN_CHARS)).is_ok());
        // `e` and a combining acute accent: two code points, one character after NFC.
        assert!(Password::parse("e\u{301}".repeat(PASSWORD_MIN_CHARS - 1)).is_err());
        assert!(Password::parse("e\u{301}".repeat(PASSWORD_MAX_CHARS)).is_ok());
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS)).is_ok());
        assert!(Password::parse("x".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn composed_and_decomposed_spellings_are_one_password() {
        let composed = Password::parse("caf\u{e9} au lait".to_owned()).expect("valid");
        let decomposed = Password::parse("cafe\u{301} au lait".to_owned()).expect("valid");
        assert_eq!(composed.expose(), decomposed.expose());
        assert_eq!(normalized("cafe\u{301} au lait"), composed.expose());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        for common in ["password", "12345678", "Baseball", "QWERTYUIOP", "trustno1"] {
            let refused = Password::parse(common.to_owned()).expect_err(common);
            assert!(refused.contains("commonly used"), "{common}: {refused}");
        }
        assert!(Password::parse("correct horse battery staple".to_owned()).is_ok());
    }

    #[test]
    fn debug_output_is_redacted() {
        let password = Password::parse("correct horse".to_owned()).expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }
}
