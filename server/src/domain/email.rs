use std::fmt;

use taskapi_api::auth::EMAIL_MAX_CHARS;

use super::trimmed_line;

/// A syntactically valid email address, trimmed, at most [`EMAIL_MAX_CHARS`] characters.
///
/// Deliberately pragmatic: one `@`, a non-empty local part without whitespace, and a
/// domain of at least two dot-separated labels of letters, digits and hyphens.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = trimmed_line(raw, EMAIL_MAX_CHARS)?;
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
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
        let domain = self.0.rsplit_once('@').map_or("", |(_, domain)| domain);
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
            "alice\0@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let raw = format!("{}@example.com", "a".repeat(EMAIL_MAX_CHARS));
        assert!(Email::parse(&raw).is_err());
    }

    #[test]
    fn debug_output_hides_the_local_part() {
        let email = Email::parse("secret.person@example.com").expect("valid");
        assert!(!format!("{email:?}").contains("secret"));
    }
}
