use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::trimmed;

/// A syntactically valid email address, trimmed, kept as typed (in Unicode NFC), with the
/// key two addresses are compared by.
///
/// Deliberately pragmatic: one `@`, a non-empty local part without whitespace, and a
/// domain of at least two dot-separated labels of letters, digits and hyphens.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    typed: String,
    key: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let typed: String = trimmed(raw)?.nfc().collect();
        let email = typed.as_str();
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("must contain `@`".to_owned());
        };
        if local.is_empty() || local.chars().count() > 64 {
            return Err("must have 1 to 64 characters before `@`".to_owned());
        }
        if local.contains('@') || email.chars().any(char::is_whitespace) {
            return Err("must not contain whitespace or a second `@`".to_owned());
        }
        if !is_valid_domain(domain) {
            return Err("must have a domain like `example.com` after `@`".to_owned());
        }
        let key = comparison_key(local, domain).ok_or_else(|| {
            "must have a domain that is a valid (internationalised) domain name".to_owned()
        })?;
        Ok(Self { typed, key })
    }

    /// The address as the user typed it (trimmed, in NFC).
    pub fn as_str(&self) -> &str {
        &self.typed
    }

    /// What two addresses are compared by: two that look alike to a person (`ａｌｉｃｅ`
    /// and `alice`, a composed and a decomposed `é`, `Alice` and `alice`, `bücher.de` and
    /// `xn--bcher-kva.de`) have the same key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The address with its local part hidden but its first character (`a***@example.com`),
    /// for logs.
    pub fn redacted(&self) -> String {
        let (local, domain) = self.key.rsplit_once('@').unwrap_or(("", &self.key));
        let first = local.chars().next().map(String::from).unwrap_or_default();
        format!("{first}***@{domain}")
    }
}

/// Unicode NFKC and lower case for the whole address, and the domain in its ASCII
/// (IDNA, UTS #46) form; `None` when the domain is not a valid domain name.
fn comparison_key(local: &str, domain: &str) -> Option<String> {
    let folded = |text: &str| -> String { text.nfkc().collect::<String>().to_lowercase() };
    let domain = idna::domain_to_ascii(&folded(domain)).ok()?;
    Some(format!(
        "{}@{domain}",
        folded(local).nfkc().collect::<String>()
    ))
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

impl fmt::Debug for Email {
    // Addresses are personal data: logs get the domain only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.typed.rsplit_once('@').map_or("", |(_, domain)| domain);
        write!(f, "Email(…@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_trims_ordinary_addresses() {
        let email = Email::parse("  Alice.Smith+tasks@Example.co.uk ").expect("valid");
        assert_eq!(email.as_str(), "Alice.Smith+tasks@Example.co.uk");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@exa mple.com",
            "al ice@example.com",
            "alice@-example.com",
            "alice@example..com",
            "alice@@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn look_alike_addresses_share_a_key_and_keep_their_spelling() {
        let plain = Email::parse("alice@example.com").expect("valid");
        for look_alike in [
            "ａｌｉｃｅ@example.com",
            "ALICE@Example.COM",
            "alice@ｅｘａｍｐｌｅ.com",
        ] {
            let email = Email::parse(look_alike).expect("valid");
            assert_eq!(email.key(), plain.key(), "{look_alike}");
        }
        let composed = Email::parse("jos\u{e9}@example.com").expect("valid");
        let decomposed = Email::parse("jose\u{301}@example.com").expect("valid");
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(
            decomposed.as_str(),
            "jos\u{e9}@example.com",
            "stored in NFC"
        );
        let unicode = Email::parse("a@bücher.de").expect("valid");
        let ascii = Email::parse("a@xn--bcher-kva.de").expect("valid");
        assert_eq!(unicode.key(), ascii.key());
        assert_eq!(unicode.as_str(), "a@bücher.de", "kept as typed");
    }

    #[test]
    fn domains_that_are_not_domain_names_are_refused() {
        let refused = Email::parse("a@xn--zz-zzzzzzzzzzzz.com");
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn debug_output_hides_the_local_part() {
        let email = Email::parse("secret.person@example.com").expect("valid");
        assert!(!format!("{email:?}").contains("secret"));
    }
}
