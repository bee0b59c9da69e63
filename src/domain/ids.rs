//! Identifier newtypes. Each one validates its format once, at the edge
//! (`parse`), so everything past the gRPC layer can trust it.

use std::fmt;

use rand::RngExt;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

/// Why a string is not a valid identifier; the gRPC layer names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The field was empty.
    #[error("is required")]
    Empty,
    /// The field had the wrong shape.
    #[error("must be {0}")]
    Format(&'static str),
}

// The alphabets IDs are generated from; `parse` accepts the same sets by
// byte class (every request parses IDs; no search per byte).
const IDENTITY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const RESOURCE_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const RESOURCE_SUFFIX_LEN: usize = 16;

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = UnwrapErr(SysRng);
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A person's account ID: exactly 8 characters `[A-Z0-9]`, random, never
/// reused (revoked rows are kept, so the primary key guards reuse).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId(String);

impl IdentityId {
    /// Length of every identity ID.
    pub const LEN: usize = 8;

    /// Validates an identity ID from the wire.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() == Self::LEN
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::Format("8 characters A-Z or 0-9"))
        }
    }

    /// A fresh random ID (the caller retries on the rare collision).
    pub fn generate() -> Self {
        Self(random_string(IDENTITY_ALPHABET, Self::LEN))
    }

    /// Wraps a value read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every ID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Validates an ID from the wire.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if s.is_empty() {
                    return Err(IdError::Empty);
                }
                let ok = s
                    .strip_prefix(Self::PREFIX)
                    .is_some_and(|rest| {
                        rest.len() == RESOURCE_SUFFIX_LEN
                            && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    });
                if ok {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError::Format(concat!(
                        "\"",
                        $prefix,
                        "\" followed by 16 characters a-z or 0-9"
                    )))
                }
            }

            /// A fresh random ID.
            pub fn generate() -> Self {
                Self(format!(
                    "{}{}",
                    Self::PREFIX,
                    random_string(RESOURCE_ALPHABET, RESOURCE_SUFFIX_LEN)
                ))
            }

            /// Wraps a value read back from storage.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            /// The ID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

resource_id!(
    /// A license package (`pkg_…`).
    PackageId,
    "pkg_"
);
resource_id!(
    /// An access credential (`cred_…`).
    CredentialId,
    "cred_"
);
resource_id!(
    /// An organization or sub-organization (`org_…`).
    OrgId,
    "org_"
);
resource_id!(
    /// A room (`room_…`).
    RoomId,
    "room_"
);
resource_id!(
    /// An assignment (`asg_…`).
    AssignmentId,
    "asg_"
);
resource_id!(
    /// The public ID of a session (`ses_…`); the token itself is secret.
    SessionId,
    "ses_"
);
resource_id!(
    /// A SCIM provisioning token (`stk_…`; the secret itself is not an ID).
    ScimTokenId,
    "stk_"
);

resource_id!(
    /// A scheduled change (`sch_…`, W3).
    ScheduledChangeId,
    "sch_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ids_round_trip_and_reject_garbage() {
        let id = IdentityId::generate();
        assert_eq!(IdentityId::parse(id.as_str()).unwrap(), id);
        assert_eq!(IdentityId::parse(""), Err(IdError::Empty));
        for bad in ["ABC", "abcdefgh", "ABCDEFG!", "ABCDEFGHI", "ÄBCDEFG"] {
            assert!(IdentityId::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn resource_ids_need_their_own_prefix() {
        let org = OrgId::generate();
        assert!(OrgId::parse(org.as_str()).is_ok());
        assert!(PackageId::parse(org.as_str()).is_err());
        assert!(OrgId::parse("org_short").is_err());
        assert!(OrgId::parse("org_ABCDEFGHIJKLMNOP").is_err());
    }

    #[test]
    fn parse_accepts_exactly_the_generating_alphabets() {
        for b in 0..=255u8 {
            let c = b as char;
            let identity = format!("ABCDEFG{c}");
            assert_eq!(
                IdentityId::parse(&identity).is_ok(),
                IDENTITY_ALPHABET.contains(&b),
                "identity byte {b}"
            );
            let org = format!("org_abcdefghijklmno{c}");
            assert_eq!(
                OrgId::parse(&org).is_ok(),
                RESOURCE_ALPHABET.contains(&b),
                "resource byte {b}"
            );
        }
    }
}
