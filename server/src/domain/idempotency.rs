//! Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a client names a request
//! so that retrying it cannot repeat its effect.

/// An `Idempotency-Key`: visible ASCII characters (spaces inside allowed), at least one.
/// The draft sends it as a structured-field string (`"abc"`); a bare token is taken as
/// well, and both spellings are one key. (Its length is the contract's to bound.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let key = match raw.strip_prefix('"') {
            Some(quoted) => quoted
                .strip_suffix('"')
                .ok_or_else(|| "must end with the quote it starts with".to_owned())?,
            None => raw,
        };
        if key.is_empty() {
            return Err(super::too_short(1));
        }
        if !key.bytes().all(|b| (b' '..=b'~').contains(&b)) || key.starts_with(' ') {
            return Err("must be visible ASCII characters".to_owned());
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_quoted_or_bare() {
        let key = |raw: &str| IdempotencyKey::parse(raw).map(|k| k.0);
        assert_eq!(key("\"abc-123\""), Ok("abc-123".to_owned()));
        assert_eq!(key("abc-123"), Ok("abc-123".to_owned()));
        assert!(key("").is_err());
        assert!(key("\"\"").is_err());
        assert!(key("\"unclosed").is_err());
        assert!(key("tab\there").is_err());
        assert!(key("naïve").is_err());
    }
}
