//! Input newtypes validated once, when parsed: slugs, emails, names and descriptions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A field that failed validation, with a message fit to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The name of the field that failed, e.g. `slug`.
    pub field: &'static str,
    /// What is wrong with the value.
    pub message: String,
}

impl ValidationError {
    /// A failure of `field`, explained by `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A workspace slug: 2–63 characters of `a-z`, `0-9` and inner `-`; never a UUID, so that
/// `{ws}` in a path can be either.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Checks `s`: 2–63 characters of `a-z`, `0-9` and single inner `-`, and not a UUID.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |m: &str| Err(ValidationError::new("slug", m));
        if !(2..=63).contains(&s.len()) {
            return err("must be 2 to 63 characters long");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return err("may contain only lowercase letters, digits and `-`");
        }
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return err("must not start or end with `-` or contain `--`");
        }
        if uuid::Uuid::try_parse(s).is_ok() {
            return err("must not be a UUID");
        }
        Ok(Self(s.to_owned()))
    }

    /// The slug's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed, NFKC-normalised and lowercased so that one person has one
/// account, and ASCII after that: full-width `ａ@` is the `a@` it shows, and a letter from another
/// script that looks like a Latin one (Cyrillic `а@`) is refused rather than made into a second
/// account that reads the same. (Internationalised domains are given in their `xn--` form.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Trims, normalises and lowercases `s`, then checks it: ASCII without blanks, at most 254
    /// characters, a local part of 1 to 64 characters, one `@`, and a domain of two or more
    /// non-empty labels joined by `.`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        use unicode_normalization::UnicodeNormalization;
        let s: String = s.trim().nfkc().collect::<String>().to_lowercase();
        if !s.is_ascii() {
            return Err(ValidationError::new(
                "email",
                "must be written in ASCII letters, digits and punctuation (a domain in its `xn--` form)",
            ));
        }
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            });
        if valid {
            Ok(Self(s))
        } else {
            Err(ValidationError::new(
                "email",
                "is not a valid email address",
            ))
        }
    }

    /// An address as the database holds it: checked when it was written, perhaps under an
    /// older rule (an account made before addresses had to be ASCII still loads).
    pub fn stored(s: String) -> Self {
        Self(s)
    }

    /// The address's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name (of a token, workspace or user): trimmed, 1–100 characters, no control characters.
pub fn name(field: &'static str, s: &str) -> Result<String, ValidationError> {
    bounded_text(field, s, 100)
}

/// A description: trimmed, at most 1000 characters; empty means none.
pub fn description(s: &str) -> Result<Option<String>, ValidationError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    bounded_text("description", s, 1000).map(Some)
}

/// A description that may be absent: absent, empty or blank all mean none.
pub fn optional_description(s: Option<&str>) -> Result<Option<String>, ValidationError> {
    Ok(s.map(description).transpose()?.flatten())
}

fn bounded_text(field: &'static str, s: &str, max: usize) -> Result<String, ValidationError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters long"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// A password for a human user: 8 to 1024 characters.
pub fn password(s: &str) -> Result<&str, ValidationError> {
    let n = s.chars().count();
    if n < 8 {
        return Err(ValidationError::new(
            "password",
            "must be at least 8 characters long",
        ));
    }
    if n > 1024 {
        return Err(ValidationError::new(
            "password",
            "must be at most 1024 characters long",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["ab", "acme", "acme-iot", "a1", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "-ab",
            "ab-",
            "a--b",
            "Acme",
            "ac me",
            "ac_me",
            "é1",
            &"a".repeat(64),
            "0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.0),
            Ok("ada@example.com".to_owned())
        );
        // Full-width letters are the ASCII ones they show.
        assert_eq!(
            Email::parse("ａｄａ@ｅｘａｍｐｌｅ．ｃｏｍ").map(|e| e.0),
            Ok("ada@example.com".to_owned())
        );
        for bad in [
            "аda@example.com",
            "ada@ехample.com",
            "josé@example.com",
            "ada@exämple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(name("name", "  ci  "), Ok("ci".to_owned()));
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"x".repeat(101)).is_err());
        assert!(name("name", &"é".repeat(100)).is_ok());
        assert!(name("name", "a\u{0}b").is_err());
        assert_eq!(description("  "), Ok(None));
        assert!(description(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn passwords() {
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
        assert!(password(&"x".repeat(1025)).is_err());
    }
}
