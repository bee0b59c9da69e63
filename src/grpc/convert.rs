//! Conversions between protobuf messages and domain types, and parsing of
//! wire values (IDs, enums, page tokens) into validated domain values.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost_types::Timestamp as PbTimestamp;

use crate::domain::validate::{self, Violations};
use crate::domain::{self, Error, PageRequest, Result, Timestamp};
use crate::pb;

/// A domain time as a protobuf timestamp.
pub fn ts(t: Timestamp) -> Option<PbTimestamp> {
    Some(PbTimestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

/// An optional domain time as a protobuf timestamp.
pub fn opt_ts(t: Option<Timestamp>) -> Option<PbTimestamp> {
    t.and_then(ts)
}

/// A protobuf timestamp as a domain time, recording a violation if invalid.
pub fn from_ts(v: &mut Violations, field: &str, t: &PbTimestamp) -> Option<Timestamp> {
    let out = chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32);
    if out.is_none() || t.nanos < 0 {
        v.add(field, "is not a valid timestamp");
    }
    out
}

const PAGE_TOKEN_PREFIX: &str = "r1:";

/// Encodes the key to continue after as an opaque page token.
pub fn page_token(next: Option<String>) -> String {
    next.map(|k| URL_SAFE_NO_PAD.encode(format!("{PAGE_TOKEN_PREFIX}{k}")))
        .unwrap_or_default()
}

/// Reads `page_size` and `page_token` into a page request.
pub fn page_request(v: &mut Violations, page_size: i32, token: &str) -> PageRequest {
    let size = validate::page_size(v, page_size);
    let after = if token.is_empty() {
        None
    } else {
        match URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix(PAGE_TOKEN_PREFIX).map(str::to_owned))
        {
            Some(key) => Some(key),
            None => {
                v.add("page_token", "is not a page token of this list");
                None
            }
        }
    };
    PageRequest { size, after }
}

/// Reads an enum field that must be set to a known value.
pub fn required_enum<P, D>(
    v: &mut Violations,
    field: &str,
    raw: i32,
    map: impl Fn(P) -> Option<D>,
) -> Option<D>
where
    P: TryFrom<i32>,
{
    match P::try_from(raw).ok().and_then(map) {
        Some(d) => Some(d),
        None => {
            v.add(field, "must be set to a known value");
            None
        }
    }
}

/// Reads an enum field where unspecified means `None`; unknown numbers are
/// violations.
pub fn optional_enum<P, D>(
    v: &mut Violations,
    field: &str,
    raw: i32,
    map: impl Fn(P) -> Option<D>,
) -> Option<D>
where
    P: TryFrom<i32>,
{
    if raw == 0 {
        return None;
    }
    let out = P::try_from(raw).ok().and_then(map);
    if out.is_none() {
        v.add(field, "is not a known value");
    }
    out
}

/// Convenience: finish validation, turning violations into an error.
pub fn done(v: Violations) -> Result<()> {
    v.finish()
}

/// Parses a required identity ID.
pub fn identity_id(field: &str, raw: &str) -> Result<domain::IdentityId> {
    domain::IdentityId::parse(raw).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Parses a required package ID.
pub fn package_id(field: &str, raw: &str) -> Result<domain::PackageId> {
    domain::PackageId::parse(raw).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Parses a required organization ID.
pub fn org_id(field: &str, raw: &str) -> Result<domain::OrgId> {
    domain::OrgId::parse(raw).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Parses a required room ID.
pub fn room_id(field: &str, raw: &str) -> Result<domain::RoomId> {
    domain::RoomId::parse(raw).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Parses a required credential ID.
pub fn credential_id(field: &str, raw: &str) -> Result<domain::CredentialId> {
    domain::CredentialId::parse(raw).map_err(|e| Error::invalid(field, e.to_string()))
}

impl From<domain::IdentityState> for pb::IdentityState {
    fn from(s: domain::IdentityState) -> Self {
        match s {
            domain::IdentityState::Active => pb::IdentityState::Active,
            domain::IdentityState::Revoked => pb::IdentityState::Revoked,
        }
    }
}

impl From<domain::Identity> for pb::Identity {
    fn from(i: domain::Identity) -> Self {
        pb::Identity {
            identity_id: i.id.to_string(),
            display_name: i.display_name,
            email: i.email,
            avatar_url: i.avatar_url,
            state: pb::IdentityState::from(i.state) as i32,
            create_time: ts(i.created_at),
            revoke_time: opt_ts(i.revoked_at),
        }
    }
}

impl From<domain::Session> for pb::Session {
    fn from(s: domain::Session) -> Self {
        pb::Session {
            session_id: s.id.to_string(),
            identity_id: s.identity_id.to_string(),
            package_id: s.package_id.to_string(),
            credential_id: s.credential_id.to_string(),
            create_time: ts(s.created_at),
            expire_time: ts(s.expires_at),
        }
    }
}

/// Domain plan from the wire.
pub fn plan_from_pb(p: pb::Plan) -> Option<domain::Plan> {
    match p {
        pb::Plan::Unspecified => None,
        pb::Plan::Basic => Some(domain::Plan::Basic),
        pb::Plan::Business => Some(domain::Plan::Business),
        pb::Plan::Enterprise => Some(domain::Plan::Enterprise),
    }
}

impl From<domain::Plan> for pb::Plan {
    fn from(p: domain::Plan) -> Self {
        match p {
            domain::Plan::Basic => pb::Plan::Basic,
            domain::Plan::Business => pb::Plan::Business,
            domain::Plan::Enterprise => pb::Plan::Enterprise,
        }
    }
}

impl From<domain::ActorKind> for pb::ActorType {
    fn from(k: domain::ActorKind) -> Self {
        match k {
            domain::ActorKind::Identity => pb::ActorType::Identity,
            domain::ActorKind::Service => pb::ActorType::Service,
            domain::ActorKind::System => pb::ActorType::System,
            domain::ActorKind::ScimToken => pb::ActorType::ScimToken,
        }
    }
}

impl From<domain::Actor> for pb::Actor {
    fn from(a: domain::Actor) -> Self {
        pb::Actor {
            r#type: pb::ActorType::from(a.kind) as i32,
            id: a.id,
        }
    }
}
