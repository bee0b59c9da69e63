//! Secrets: argon2id for passwords people choose, SHA-256 for the
//! high-entropy tokens Roster generates (session tokens, service keys), and
//! the generators for both.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use super::error::{Error, Result};

/// Prefix of session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "rss_";
/// Prefix of service keys.
pub const SERVICE_KEY_PREFIX: &str = "rsk_";

/// argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes,
/// 1 lane). They bound SignIn throughput; the benchmark reports ops/s.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a random salt (PHC string).
/// CPU-heavy: call from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Verifies a password against a PHC string in constant time. An unreadable
/// hash counts as a mismatch. CPU-heavy: call from `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the real one does not exist, so unknown
/// usernames cost as much time as wrong passwords.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password("decoy password that never matches").unwrap_or_else(|_| String::new())
    })
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh session token (256 random bits).
pub fn new_session_token() -> String {
    random_token(SESSION_TOKEN_PREFIX)
}

/// A fresh service key (256 random bits).
pub fn new_service_key() -> String {
    random_token(SERVICE_KEY_PREFIX)
}

/// A generated credential password (24 URL-safe characters, 144 bits).
pub fn new_password() -> String {
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex encoded: what storage keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hashes_are_argon2id() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_prefixed_and_distinct() {
        let a = new_session_token();
        assert!(a.starts_with(SESSION_TOKEN_PREFIX));
        assert_ne!(a, new_session_token());
        assert_eq!(token_hash(&a).len(), 64);
    }
}
