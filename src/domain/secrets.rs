//! Secrets: argon2id for passwords people choose, SHA-256 for the
//! high-entropy tokens Roster generates (session tokens, service keys), and
//! the generators for both.

use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};

use super::error::{Error, Result};

/// Prefix of session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "rss_";
/// Prefix of service keys.
pub const SERVICE_KEY_PREFIX: &str = "rsk_";
/// Prefix of SCIM provisioning tokens.
pub const SCIM_TOKEN_PREFIX: &str = "rst_";

/// argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes,
/// 1 lane). They bound SignIn throughput; the benchmark reports ops/s.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Reusable argon2 working memory (19 MiB each). Allocating it per hash
/// lets the allocator keep every freed block around (glibc raises its mmap
/// threshold after the first free), so a burst of sign-ins would leave
/// hundreds of MiB resident; reusing a few buffers keeps RSS flat.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// Buffers kept between hashes (callers run at most one job per core).
const KEPT_BUFFERS: usize = 8;

fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let mut buf = MEMORY
        .lock()
        .ok()
        .and_then(|mut pool| pool.pop())
        .unwrap_or_default();
    if buf.len() < blocks {
        buf.resize(blocks, Block::default());
    }
    let out = f(&mut buf[..blocks]);
    if let Ok(mut pool) = MEMORY.lock()
        && pool.len() < KEPT_BUFFERS
    {
        pool.push(buf);
    }
    out
}

/// Hashes a password with argon2id and a random salt (PHC string).
/// CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {e}"));
    let argon = argon2();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| fail(&e))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        with_memory(argon.params().block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
        })
        .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Verifies a password against a PHC string (any argon2 variant and
/// parameters it names); the final comparison is constant-time. An
/// unreadable hash counts as a mismatch. CPU-heavy: call from a blocking
/// thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Some(expected), Some(salt)) =
        (Algorithm::try_from(hash.algorithm), hash.hash, hash.salt)
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        with_memory(argon.params().block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
        })
        .map_err(|_| argon2::password_hash::Error::Crypto)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|c| c == expected)
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
    UnwrapErr(SysRng).fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh session token (256 random bits).
pub fn new_session_token() -> String {
    random_token(SESSION_TOKEN_PREFIX)
}

/// Whether `s` has the shape of a session token: the prefix and the
/// URL-safe base64 of 32 bytes (43 characters, no padding).
pub fn is_session_token_shape(s: &str) -> bool {
    s.strip_prefix(SESSION_TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A fresh service key (256 random bits).
pub fn new_service_key() -> String {
    random_token(SERVICE_KEY_PREFIX)
}

/// A new SCIM provisioning token (shown once; only its hash is stored).
pub fn new_scim_token() -> String {
    random_token(SCIM_TOKEN_PREFIX)
}

/// A generated credential password (24 URL-safe characters, 144 bits).
pub fn new_password() -> String {
    let mut bytes = [0u8; 18];
    UnwrapErr(SysRng).fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex encoded: what storage keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_from_the_argon2_crate_itself_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2().hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify_password("pw", &phc));
        assert!(!verify_password("px", &phc));
        // Other parameters and variants named in the PHC string are honoured.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("pw", &other));
        assert!(!verify_password("px", &other));
    }

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
        assert!(is_session_token_shape(&a));
        assert!(!is_session_token_shape("rss_short"));
        assert!(!is_session_token_shape(&new_service_key()));
        assert_ne!(a, new_session_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
