//! The token format (`{prefix}{kind}_{body}{checksum}`), its parsing, digests and display hints.
//!
//! A token is `kgt_` followed by [`RANDOM_LEN`] base62 characters drawn from the OS CSPRNG (≥ 160 bits)
//! and a [`CHECKSUM_LEN`]-character base62 CRC32 of everything before it. The checksum lets a server
//! reject a mistyped or truncated token without touching storage, and lets secret scanners match
//! Keygate tokens exactly.
//!
//! WARNING: changing the alphabet, lengths or checksum input invalidates every token ever issued.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Base62 characters of randomness in a token body: 27 × log2(62) ≈ 160.8 bits.
pub const RANDOM_LEN: usize = 27;
/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// Length of the body after `{prefix}{kind}_`.
pub const BODY_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;
/// Characters of the body shown at each end of a hint.
pub const HINT_CHARS: usize = 4;
/// Longest configurable prefix.
pub const MAX_PREFIX_LEN: usize = 8;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a token was issued for; the letter after the prefix says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Created with every user; refreshed by its owner.
    Personal,
    /// Created by a user, with a name, description, expiry and scope.
    User,
    /// Belongs to an API user (a service account).
    Api,
}

impl TokenKind {
    /// Every kind.
    pub const ALL: [TokenKind; 3] = [TokenKind::Personal, TokenKind::User, TokenKind::Api];

    /// The letter after the prefix: `p`, `t` or `a`.
    pub fn letter(self) -> char {
        match self {
            TokenKind::Personal => 'p',
            TokenKind::User => 't',
            TokenKind::Api => 'a',
        }
    }

    /// The kind whose letter is `letter`; `None` for any other.
    pub fn from_letter(letter: char) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.letter() == letter)
    }

    /// The kind as stored and serialized: `personal`, `user` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::User => "user",
            TokenKind::Api => "api",
        }
    }

    /// The kind named `s`; `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a presented string is not a well-formed token of this deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    /// The string does not start with the prefix, or no `_` follows the kind letter.
    #[error("the token does not start with this deployment's prefix")]
    WrongPrefix,
    /// The letter after the prefix names no kind.
    #[error("the token has an unknown kind letter")]
    UnknownKind,
    /// The body is not [`BODY_LEN`] characters long.
    #[error("the token has the wrong length")]
    WrongLength,
    /// The body holds a character outside base62.
    #[error("the token contains characters outside base62")]
    BadCharacter,
    /// The last [`CHECKSUM_LEN`] characters are not the checksum of what comes before them.
    #[error("the token's checksum does not match")]
    BadChecksum,
}

/// Why a configured prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "token prefix must be 1 to {MAX_PREFIX_LEN} lowercase ASCII letters or digits, starting with a letter"
)]
pub struct InvalidPrefix;

/// A deployment's token format: its prefix. Generates and parses tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFormat {
    prefix: String,
}

impl Default for TokenFormat {
    fn default() -> Self {
        Self {
            prefix: "kg".to_owned(),
        }
    }
}

impl TokenFormat {
    /// The format with `prefix`: 1 to [`MAX_PREFIX_LEN`] lowercase ASCII letters or digits,
    /// starting with a letter.
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let valid = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX_LEN
            && prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if valid {
            Ok(Self {
                prefix: prefix.to_owned(),
            })
        } else {
            Err(InvalidPrefix)
        }
    }

    /// The prefix, e.g. `kg`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Total length of a token in this format.
    pub fn token_len(&self) -> usize {
        self.prefix.len() + 2 + BODY_LEN
    }

    /// A new token of `kind`. `fill` must fill its buffer from a CSPRNG (the OS one in production);
    /// it is a parameter so that this module stays free of I/O.
    pub fn generate(&self, kind: TokenKind, mut fill: impl FnMut(&mut [u8])) -> ClearToken {
        let mut out = String::with_capacity(self.token_len());
        out.push_str(&self.prefix);
        out.push(kind.letter());
        out.push('_');
        push_random_base62(&mut out, RANDOM_LEN, &mut fill);
        let checksum = checksum(&out);
        out.extend(checksum.iter().map(|&b| char::from(b)));
        ClearToken {
            secret: out,
            kind,
            prefix_len: self.prefix.len() + 2,
        }
    }

    /// Checks the shape and checksum of `presented`; does not say whether the token exists.
    pub fn parse<'a>(&self, presented: &'a str) -> Result<ParsedToken<'a>, TokenFormatError> {
        let rest = presented
            .strip_prefix(self.prefix.as_str())
            .ok_or(TokenFormatError::WrongPrefix)?;
        let mut chars = rest.chars();
        let kind = chars
            .next()
            .and_then(TokenKind::from_letter)
            .ok_or(TokenFormatError::UnknownKind)?;
        let body = chars
            .as_str()
            .strip_prefix('_')
            .ok_or(TokenFormatError::WrongPrefix)?;
        // Every byte looked at, without stopping at the first bad one: a loop the compiler
        // checks many bytes at a time in, on every token presented.
        if !body
            .bytes()
            .fold(true, |ok, b| ok & b.is_ascii_alphanumeric())
        {
            return Err(TokenFormatError::BadCharacter);
        }
        if body.len() != BODY_LEN {
            return Err(TokenFormatError::WrongLength);
        }
        let (without_checksum, given) = presented.split_at(presented.len() - CHECKSUM_LEN);
        if checksum(without_checksum) != given.as_bytes() {
            return Err(TokenFormatError::BadChecksum);
        }
        Ok(ParsedToken {
            token: presented,
            kind,
            prefix_len: self.prefix.len() + 2,
        })
    }
}

impl TokenFormat {
    /// Replaces the secret part of anything in `text` that looks like a token of this format with
    /// `[REDACTED]`, keeping the prefix so a reader still sees that a token was there. For log
    /// lines and error messages that may quote user input.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = String::new();
        let mut rest = text;
        let mut changed = false;
        while let Some(at) = rest.find(self.prefix.as_str()) {
            let after = &rest[at + self.prefix.len()..];
            let mut chars = after.chars();
            let is_token = chars
                .next()
                .is_some_and(|c| TokenKind::from_letter(c).is_some())
                && chars.next() == Some('_');
            let secret_len = if is_token {
                after[2..]
                    .bytes()
                    .take_while(u8::is_ascii_alphanumeric)
                    .count()
            } else {
                0
            };
            // Eight characters: long enough that ordinary words are left alone.
            if secret_len >= 8 {
                let head = at + self.prefix.len() + 2;
                out.push_str(&rest[..head]);
                out.push_str("[REDACTED]");
                rest = &rest[head + secret_len..];
                changed = true;
            } else {
                let step = at + self.prefix.len();
                out.push_str(&rest[..step]);
                rest = &rest[step..];
            }
        }
        if !changed {
            return std::borrow::Cow::Borrowed(text);
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }
}

/// Appends `n` uniformly random base62 characters drawn from `fill`.
fn push_random_base62(out: &mut String, n: usize, fill: &mut impl FnMut(&mut [u8])) {
    // Rejection sampling keeps every character uniform: 248 = 4 × 62.
    let mut buf = [0u8; 64];
    let mut drawn = 0;
    while drawn < n {
        fill(&mut buf);
        for &b in buf.iter().filter(|&&b| b < 248) {
            if drawn == n {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
            drawn += 1;
        }
    }
}

/// Characters of a one-time code: 32 × log2(62) ≈ 190 bits.
pub const CODE_LEN: usize = 32;

/// A one-time code (an invitation's accept code), random from `fill`.
pub fn one_time_code(mut fill: impl FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(CODE_LEN);
    push_random_base62(&mut out, CODE_LEN, &mut fill);
    out
}

/// The value stored in place of a one-time code.
pub fn code_digest(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

/// The CRC32 of `s` in base62, padded with `0`s to [`CHECKSUM_LEN`] characters (a `u32` never
/// needs more). Written without allocating: every presented token is checked.
fn checksum(s: &str) -> [u8; CHECKSUM_LEN] {
    let mut crc = crc32fast::hash(s.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for digit in out.iter_mut().rev() {
        *digit = ALPHABET[(crc % 62) as usize];
        crc /= 62;
    }
    out
}

/// A token in clear. Exists only between generation and the response that shows it once;
/// its `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClearToken {
    secret: String,
    kind: TokenKind,
    prefix_len: usize,
}

impl ClearToken {
    /// The secret itself: for the one response that shows it, never for logs.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// The secret itself, by value: for the one response that shows it, never for logs.
    pub fn into_exposed(self) -> String {
        self.secret
    }

    /// The token as if parsed: generation always yields a well-formed token.
    pub fn parsed(&self) -> ParsedToken<'_> {
        ParsedToken {
            token: &self.secret,
            kind: self.kind,
            prefix_len: self.prefix_len,
        }
    }
}

impl fmt::Debug for ClearToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClearToken(<redacted>)")
    }
}

/// A presented string that has the shape and checksum of a token of this deployment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    token: &'a str,
    kind: TokenKind,
    prefix_len: usize,
}

impl fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("kind", &self.kind)
            .field("hint", &self.hint())
            .finish()
    }
}

impl ParsedToken<'_> {
    /// The kind its letter names.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// What may be shown of the token later: the prefix and at most [`HINT_CHARS`] body characters at
    /// each end, e.g. `kgt_Ab12…9xYz`.
    pub fn hint(&self) -> String {
        let (prefix, body) = self.token.split_at(self.prefix_len);
        format!(
            "{prefix}{}…{}",
            &body[..HINT_CHARS],
            &body[body.len() - HINT_CHARS..]
        )
    }

    /// The whole token as presented: a secret, never for logs.
    pub fn as_str(&self) -> &str {
        self.token
    }
}

/// The value stored at rest in place of a token: SHA-256 of the token, or HMAC-SHA-256 keyed
/// with the server pepper when one is configured.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The 32 bytes of the digest, as stored.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex characters are enough to tell digests apart in a debugger.
        write!(
            f,
            "TokenDigest({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// Computes token digests; holds the optional pepper.
#[derive(Clone)]
pub struct Digester {
    pepper: Option<Vec<u8>>,
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digester")
            .field("peppered", &self.pepper.is_some())
            .finish()
    }
}

impl Digester {
    /// A digester keyed with `pepper` (HMAC-SHA-256); with no pepper, or an empty one, plain
    /// SHA-256.
    pub fn new(pepper: Option<&[u8]>) -> Self {
        Self {
            pepper: pepper.filter(|p| !p.is_empty()).map(<[u8]>::to_vec),
        }
    }

    /// The value stored in place of `token`.
    pub fn digest(&self, token: &ParsedToken<'_>) -> TokenDigest {
        let bytes = token.as_str().as_bytes();
        let out: [u8; 32] = match &self.pepper {
            None => Sha256::digest(bytes).into(),
            Some(pepper) => {
                // HMAC accepts keys of any length, so this cannot fail.
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(bytes);
                mac.finalize().into_bytes().into()
            }
        };
        TokenDigest(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn os_fill(buf: &mut [u8]) {
        getrandom::fill(buf).expect("OS randomness");
    }

    fn format() -> TokenFormat {
        TokenFormat::default()
    }

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let f = format();
        for kind in TokenKind::ALL {
            let t = f.generate(kind, os_fill);
            let s = t.expose();
            assert_eq!(s.len(), 2 + 2 + 27 + 6);
            assert!(s.starts_with(&format!("kg{}_", kind.letter())));
            assert_eq!(f.parse(s).map(|p| p.kind()), Ok(kind));
        }
    }

    #[test]
    fn parse_rejects_each_kind_of_malformation() {
        let f = format();
        let t = f.generate(TokenKind::User, os_fill);
        let s = t.expose();
        let cases: Vec<(String, TokenFormatError)> = vec![
            (s.replacen("kg", "xy", 1), TokenFormatError::WrongPrefix),
            (s.replacen("kgt", "kgz", 1), TokenFormatError::UnknownKind),
            (s.replacen("kgt_", "kgt-", 1), TokenFormatError::WrongPrefix),
            (s[..s.len() - 1].to_owned(), TokenFormatError::WrongLength),
            (format!("{s}a"), TokenFormatError::WrongLength),
            (
                s.replacen("kgt_", "kgt_!", 1),
                TokenFormatError::BadCharacter,
            ),
            (String::new(), TokenFormatError::WrongPrefix),
            ("kg".to_owned(), TokenFormatError::UnknownKind),
        ];
        for (input, expected) in cases {
            assert_eq!(f.parse(&input).err(), Some(expected), "input {input:?}");
        }
    }

    #[test]
    fn a_custom_prefix_is_used_and_enforced() {
        let acme = TokenFormat::new("acme").expect("valid prefix");
        let t = acme.generate(TokenKind::Api, os_fill);
        assert!(t.expose().starts_with("acmea_"));
        assert!(acme.parse(t.expose()).is_ok());
        assert_eq!(
            format().parse(t.expose()).err(),
            Some(TokenFormatError::WrongPrefix)
        );
        for bad in ["", "Kg", "1kg", "k_g", "toolongprefix", "kg-"] {
            assert_eq!(TokenFormat::new(bad), Err(InvalidPrefix), "{bad:?}");
        }
    }

    #[test]
    fn redact_hides_token_bodies_and_leaves_other_text() {
        let f = format();
        let t = f.generate(TokenKind::User, os_fill);
        let text = format!(
            "GET /x?api_token={}&b=1 and again {}.",
            t.expose(),
            t.expose()
        );
        let redacted = f.redact(&text);
        assert!(!redacted.contains(&t.expose()[4..]), "{redacted}");
        assert_eq!(
            redacted,
            "GET /x?api_token=kgt_[REDACTED]&b=1 and again kgt_[REDACTED]."
        );
        // Truncated or mistyped tokens are still secrets worth hiding.
        assert_eq!(f.redact("kgp_abcdefghij"), "kgp_[REDACTED]");
        for plain in [
            "",
            "kg",
            "kgt_",
            "kgt_short",
            "a kgx_abcdefghijk b",
            "kgkgkg",
        ] {
            assert_eq!(f.redact(plain), plain);
        }
    }

    #[test]
    fn one_time_codes_are_long_random_and_stored_as_digests() {
        let a = one_time_code(os_fill);
        let b = one_time_code(os_fill);
        assert_eq!(a.len(), CODE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(code_digest(&a), code_digest(&a));
        assert_ne!(code_digest(&a), code_digest(&b));
    }

    #[test]
    fn checksum_is_padded_to_six_characters() {
        // CRC32 of some inputs is small; padding keeps the length fixed.
        assert_eq!(checksum("").len(), CHECKSUM_LEN);
        for i in 0..1000 {
            assert_eq!(checksum(&i.to_string()).len(), CHECKSUM_LEN);
        }
    }

    proptest! {
        /// The checksum is the `base62` crate's encoding of the CRC32, left-padded with `0`:
        /// the format tokens issued so far were checked against.
        #[test]
        fn checksum_is_base62_of_the_crc32(s in ".{0,64}") {
            let expected = format!(
                "{:0>width$}",
                base62::encode(crc32fast::hash(s.as_bytes())),
                width = CHECKSUM_LEN
            );
            let got = checksum(&s);
            prop_assert_eq!(got.as_slice(), expected.as_bytes());
        }
    }

    #[test]
    fn hint_shows_prefix_and_four_characters_at_each_end() {
        let f = format();
        let t = f.generate(TokenKind::User, os_fill);
        let s = t.expose();
        let hint = f.parse(s).expect("valid").hint();
        assert_eq!(hint, format!("{}…{}", &s[..8], &s[s.len() - 4..]));
    }

    #[test]
    fn digests_differ_with_and_without_pepper() {
        let f = format();
        let t = f.generate(TokenKind::User, os_fill);
        let p = f.parse(t.expose()).expect("valid");
        let plain = Digester::new(None).digest(&p);
        let peppered = Digester::new(Some(b"pepper")).digest(&p);
        let other = Digester::new(Some(b"other")).digest(&p);
        assert_eq!(
            plain.as_bytes(),
            &<[u8; 32]>::from(Sha256::digest(t.expose()))
        );
        assert_ne!(plain, peppered);
        assert_ne!(peppered, other);
        assert_eq!(Digester::new(Some(b"")).digest(&p), plain);
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let f = format();
        let t = f.generate(TokenKind::User, os_fill);
        let p = f.parse(t.expose()).expect("valid");
        let body = &t.expose()[4..];
        for shown in [
            format!("{t:?}"),
            format!("{p:?}"),
            format!("{:?}", Digester::new(None).digest(&p)),
        ] {
            assert!(!shown.contains(body), "{shown}");
        }
    }

    #[test]
    fn no_collisions_in_100_000_tokens() {
        let f = format();
        let mut seen = HashSet::with_capacity(100_000);
        let mut digests = HashSet::with_capacity(100_000);
        let digester = Digester::new(None);
        for _ in 0..100_000 {
            let t = f.generate(TokenKind::User, os_fill);
            digests.insert(digester.digest(&f.parse(t.expose()).expect("valid")));
            assert!(seen.insert(t.into_exposed()));
        }
        assert_eq!(digests.len(), 100_000);
    }

    fn any_kind() -> impl Strategy<Value = TokenKind> {
        prop_oneof![
            Just(TokenKind::Personal),
            Just(TokenKind::User),
            Just(TokenKind::Api)
        ]
    }

    fn any_format() -> impl Strategy<Value = TokenFormat> {
        "[a-z][a-z0-9]{0,7}"
            .prop_map(|p| TokenFormat::new(&p).expect("strategy yields valid prefixes"))
    }

    /// Generation driven by proptest's bytes, so failures shrink and replay.
    fn token_from(f: &TokenFormat, kind: TokenKind, seed: &[u8]) -> ClearToken {
        let mut stream = seed.iter().copied().cycle();
        f.generate(kind, |buf| {
            for b in buf.iter_mut() {
                *b = stream.next().unwrap_or(0);
            }
        })
    }

    proptest! {
        #[test]
        fn every_generated_token_parses(f in any_format(), kind in any_kind(), seed in proptest::collection::vec(0u8..248, 1..64)) {
            let t = token_from(&f, kind, &seed);
            let parsed = f.parse(t.expose());
            prop_assert_eq!(parsed.map(|p| p.kind()), Ok(kind));
            prop_assert_eq!(t.expose().len(), f.token_len());
        }

        #[test]
        fn every_single_character_change_is_rejected(
            f in any_format(),
            kind in any_kind(),
            seed in proptest::collection::vec(0u8..248, 1..64),
            position in any::<proptest::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let t = token_from(&f, kind, &seed);
            let original: Vec<char> = t.expose().chars().collect();
            let i = position.index(original.len());
            prop_assume!(original[i] != replacement);
            let mut changed = original.clone();
            changed[i] = replacement;
            let changed: String = changed.into_iter().collect();
            prop_assert!(f.parse(&changed).is_err(), "accepted {} (changed position {})", changed, i);
        }

        #[test]
        fn every_single_alphanumeric_change_is_rejected(
            kind in any_kind(),
            seed in proptest::collection::vec(0u8..248, 1..64),
            position in any::<proptest::sample::Index>(),
            replacement in proptest::sample::select(ALPHABET.to_vec()),
        ) {
            // The same property, aimed at the changes most likely to slip past: base62 for base62.
            let f = format();
            let t = token_from(&f, kind, &seed);
            let mut bytes = t.expose().as_bytes().to_vec();
            let i = position.index(bytes.len());
            prop_assume!(bytes[i] != replacement);
            bytes[i] = replacement;
            let changed = String::from_utf8(bytes).expect("ascii");
            prop_assert!(f.parse(&changed).is_err(), "accepted {}", changed);
        }

        #[test]
        fn hint_never_reveals_more_than_four_body_characters_at_each_end(
            f in any_format(),
            kind in any_kind(),
            seed in proptest::collection::vec(0u8..248, 1..64),
        ) {
            let t = token_from(&f, kind, &seed);
            let hint = f.parse(t.expose()).expect("valid").hint();
            let head = format!("{}{}_", f.prefix(), kind.letter());
            let body = &t.expose()[head.len()..];
            let (shown_start, shown_end) = hint[head.len()..].split_once('…').expect("ellipsis");
            prop_assert!(hint.starts_with(&head));
            prop_assert!(shown_start.len() <= HINT_CHARS && body.starts_with(shown_start));
            prop_assert!(shown_end.len() <= HINT_CHARS && body.ends_with(shown_end));
            // No run of five consecutive body characters appears in the hint's shown body.
            let shown = &hint[head.len()..];
            for window in body.as_bytes().windows(HINT_CHARS + 1) {
                let window = std::str::from_utf8(window).expect("ascii");
                prop_assert!(!shown.contains(window));
            }
        }

        #[test]
        fn parse_and_redact_never_panic(s in "\\PC{0,64}") {
            let _ = format().parse(&s);
            let _ = format().redact(&s);
        }
    }
}
