use std::{collections::HashSet, fmt, sync::LazyLock};

use unicode_normalization::UnicodeNormalization;

/// The 10,000 most common passwords of at least 8 characters, lowercase
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

/// A new password (ASVS 5.0 §6.2): no composition rules, and not one of the most common
/// passwords (compared ignoring letter case). Kept in NFC; its `Debug` never shows the text.
/// (Its length is the contract's to bound: the schema of its request states it.)
#[derive(Clone)]
pub struct Password(secrecy::SecretString);

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        let password = normalized(&raw);
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
