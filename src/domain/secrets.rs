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

/// The argon2id cost of new password hashes (I2 passwords, L2 credentials).
/// Verification always uses the parameters stored in the hash itself, so
/// changing the cost never locks anyone out: old hashes keep their cost
/// until the password is set again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashCost {
    /// Memory per hash in KiB (argon2's `m`).
    pub memory_kib: u32,
    /// Passes over the memory (argon2's `t`).
    pub iterations: u32,
    /// Lanes (argon2's `p`).
    pub parallelism: u32,
}

/// OWASP's password storage cheat sheet: argon2id configurations of equal
/// strength, (memory KiB, iterations) with one lane. A cost at or above any
/// row is "recommended".
const OWASP_MINIMUMS: [(u32, u32); 5] = [
    (47_104, 1),
    (19_456, 2),
    (12_288, 3),
    (9_216, 4),
    (7_168, 5),
];

impl HashCost {
    /// The default: OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
    /// It bounds SignIn throughput; the benchmark reports ops/s.
    pub const RECOMMENDED: HashCost = HashCost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// A cost argon2 accepts (memory at least 8 KiB per lane, at least one
    /// pass and one lane, at most 4 GiB), or what is wrong with it.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, String> {
        const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
        if parallelism == 0 || parallelism > 64 {
            return Err("argon2 parallelism must be between 1 and 64".to_owned());
        }
        if iterations == 0 || iterations > 64 {
            return Err("argon2 iterations must be between 1 and 64".to_owned());
        }
        if memory_kib < 8 * parallelism || memory_kib > MAX_MEMORY_KIB {
            return Err(format!(
                "argon2 memory must be between {} KiB (8 per lane) and {MAX_MEMORY_KIB} KiB",
                8 * parallelism
            ));
        }
        Params::new(memory_kib, iterations, parallelism, None).map_err(|e| e.to_string())?;
        Ok(HashCost {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Whether this cost meets OWASP's minimum (any row of its table).
    /// The server warns at start when it does not.
    pub fn meets_owasp_minimum(&self) -> bool {
        OWASP_MINIMUMS
            .iter()
            .any(|&(m, t)| self.memory_kib >= m && self.iterations >= t)
    }

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost::RECOMMENDED
    }
}

impl std::fmt::Display for HashCost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "argon2id m={}KiB t={} p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
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

/// Hashes a password with argon2id at `cost` and a random salt (PHC
/// string). CPU-heavy: call from a blocking thread.
pub fn hash_password(cost: HashCost, password: &str) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {e}"));
    let argon = cost.argon2();
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

/// Whether the PHC string `phc` was made at another cost (or algorithm or
/// version) than `cost`: a sign-in that verified it then stores a new hash
/// at the configured cost. An unreadable string is not rehashed (it never
/// verifies).
pub fn needs_rehash(phc: &str, cost: HashCost) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let current = Algorithm::try_from(hash.algorithm) == Ok(Algorithm::Argon2id)
        && hash.version.is_none_or(|v| v == Version::V0x13 as u32);
    !current
        || params.m_cost() != cost.memory_kib
        || params.t_cost() != cost.iterations
        || params.p_cost() != cost.parallelism
}

/// A hash at `cost` to verify against when the real one does not exist,
/// so unknown usernames cost as much time as wrong passwords. Made once
/// per cost.
pub fn decoy_hash(cost: HashCost) -> String {
    static DECOYS: Mutex<Vec<(HashCost, String)>> = Mutex::new(Vec::new());
    if let Ok(decoys) = DECOYS.lock()
        && let Some((_, hash)) = decoys.iter().find(|(c, _)| *c == cost)
    {
        return hash.clone();
    }
    let hash = hash_password(cost, "decoy password that never matches").unwrap_or_default();
    if let Ok(mut decoys) = DECOYS.lock()
        && !decoys.iter().any(|(c, _)| *c == cost)
    {
        decoys.push((cost, hash.clone()));
    }
    hash
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
        let phc = HashCost::RECOMMENDED
            .argon2()
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
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
        let h = hash_password(HashCost::RECOMMENDED, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_configured_cost_is_the_one_stored_and_any_cost_verifies() {
        let low = HashCost::new(64, 1, 1).unwrap();
        let h = hash_password(low, "pw").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(verify_password("pw", &h));
        assert!(!verify_password("px", &h));
        // The decoy is made at the cost asked for, once.
        let decoy = decoy_hash(low);
        assert!(decoy.contains("$m=64,t=1,p=1$"), "{decoy}");
        assert_eq!(decoy, decoy_hash(low));
        assert!(!verify_password("", &decoy));
    }

    #[test]
    fn a_hash_made_at_another_cost_needs_a_rehash() {
        let low = HashCost::new(8, 1, 1).unwrap();
        let other = HashCost::new(16, 1, 1).unwrap();
        let hash = hash_password(low, "pw").unwrap();
        assert!(!needs_rehash(&hash, low));
        assert!(needs_rehash(&hash, other));
        assert!(needs_rehash(&hash, HashCost::new(8, 2, 1).unwrap()));
        assert!(needs_rehash(&hash, HashCost::new(16, 1, 2).unwrap()));
        assert!(!needs_rehash("not a hash", other));
    }

    #[test]
    fn costs_are_validated_and_compared_with_owasp() {
        assert!(HashCost::RECOMMENDED.meets_owasp_minimum());
        assert_eq!(HashCost::default(), HashCost::RECOMMENDED);
        assert!(HashCost::new(47_104, 1, 1).unwrap().meets_owasp_minimum());
        assert!(HashCost::new(7_168, 5, 1).unwrap().meets_owasp_minimum());
        assert!(!HashCost::new(19_455, 2, 1).unwrap().meets_owasp_minimum());
        assert!(!HashCost::new(64, 1, 1).unwrap().meets_owasp_minimum());
        assert!(HashCost::new(7, 1, 1).unwrap_err().contains("memory"));
        assert!(HashCost::new(16, 1, 4).unwrap_err().contains("memory"));
        assert!(HashCost::new(64, 0, 1).unwrap_err().contains("iterations"));
        assert!(HashCost::new(64, 1, 0).unwrap_err().contains("parallelism"));
        assert_eq!(
            HashCost::RECOMMENDED.to_string(),
            "argon2id m=19456KiB t=2 p=1"
        );
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
