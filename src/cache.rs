//! In-memory caches for the hot read paths (every authenticated call and
//! ValidateSession, CheckAccess, ResolveProfiles), invalidated by the event
//! feed so that no replica serves a stale "allow" after a change it has
//! heard of.
//!
//! Invalidation is by generation, not by search. Each entry is stamped with
//! the generation of its cache and of its identity's stripe; an event about
//! identity X bumps X's stripe, an event that may touch anyone (a deleted
//! credential ends many sessions) bumps a whole cache. A read accepts an
//! entry only while both generations are unchanged.
//!
//! A fill that raced with an invalidation must not be stored: [`Caches::begin`]
//! reads an epoch that every invalidation increments *before* bumping
//! generations, and an insert is dropped when the epoch moved during the
//! database read. While the cross-replica listener is down, caches are
//! bypassed entirely.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::domain::{
    AccessDecision, Event, EventType, IdentityId, OrgId, Profile, RoomId, Session,
};

const STRIPES: usize = 4096;
/// Upper bound on staleness even if every notification were lost.
const TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    global: u64,
    stripe: u64,
}

#[derive(Clone)]
struct Entry<V> {
    stamp: Stamp,
    value: V,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sessions = 0,
    Access = 1,
    Profiles = 2,
}

/// Taken before a database read whose result may be cached.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    epoch: u64,
    enabled: bool,
}

/// The hot-path caches of one replica.
pub struct Caches {
    enabled: AtomicBool,
    epoch: AtomicU64,
    globals: [AtomicU64; 3],
    stripes: Box<[AtomicU64]>,
    hasher: std::collections::hash_map::RandomState,
    sessions: Cache<String, Entry<Arc<Session>>>,
    access: Cache<(IdentityId, OrgId, Option<RoomId>), Entry<AccessDecision>>,
    profiles: Cache<(OrgId, IdentityId), Entry<Profile>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("enabled", &self.is_enabled())
            .field("sessions", &self.sessions.entry_count())
            .field("access", &self.access.entry_count())
            .field("profiles", &self.profiles.entry_count())
            .finish()
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self::new()
    }
}

/// Events that change nobody's session, access or rendering unless they
/// name an identity (then that identity's stripe is bumped anyway).
fn harmless_without_identity(t: EventType) -> bool {
    matches!(
        t,
        EventType::PackageCreated
            | EventType::PackageUpdated
            | EventType::CredentialIssued
            | EventType::OrganizationCreated
            | EventType::OrganizationUpdated
            | EventType::RoomCreated
            | EventType::AssignmentCreated
            | EventType::AssignmentsTransferred
            | EventType::ServiceKeyCreated
    )
}

impl Caches {
    /// Empty caches, enabled.
    pub fn new() -> Self {
        Caches {
            enabled: AtomicBool::new(true),
            epoch: AtomicU64::new(0),
            globals: Default::default(),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: Default::default(),
            sessions: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TTL)
                .build(),
            access: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(TTL)
                .build(),
            profiles: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(TTL)
                .build(),
        }
    }

    fn stripe(&self, identity: &str) -> &AtomicU64 {
        let h = self.hasher.hash_one(identity) as usize;
        &self.stripes[h % STRIPES]
    }

    fn stamp(&self, kind: Kind, identity: &str) -> Stamp {
        Stamp {
            global: self.globals[kind as usize].load(Ordering::Acquire),
            stripe: self.stripe(identity).load(Ordering::Acquire),
        }
    }

    fn fresh<V>(&self, kind: Kind, identity: &str, entry: Option<Entry<V>>) -> Option<V> {
        let entry = entry?;
        (self.is_enabled() && entry.stamp == self.stamp(kind, identity)).then_some(entry.value)
    }

    /// The stamp to store with a fill, or `None` when the fill may be stale.
    fn stamp_for_insert(&self, fill: Fill, kind: Kind, identity: &str) -> Option<Stamp> {
        let stamp = self.stamp(kind, identity);
        (fill.enabled && self.is_enabled() && self.epoch.load(Ordering::Acquire) == fill.epoch)
            .then_some(stamp)
    }

    /// Whether caches are in use.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Turns caching on or off (the feed switches it off while it cannot
    /// hear other replicas); either way everything cached so far is dropped.
    pub fn set_enabled(&self, on: bool) {
        self.clear();
        self.enabled.store(on, Ordering::Release);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for g in &self.globals {
            g.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Applies one committed event.
    pub fn invalidate(&self, event: &Event) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(identity) = &event.identity_id {
            self.stripe(identity).fetch_add(1, Ordering::AcqRel);
        }
        if event.event_type == EventType::CredentialDeleted {
            self.globals[Kind::Sessions as usize].fetch_add(1, Ordering::AcqRel);
        } else if event.identity_id.is_none() && !harmless_without_identity(event.event_type) {
            self.clear();
        }
    }

    /// Starts a fill: call before the database read.
    pub fn begin(&self) -> Fill {
        Fill {
            epoch: self.epoch.load(Ordering::Acquire),
            enabled: self.is_enabled(),
        }
    }

    /// A cached live session by token hash.
    pub fn session(&self, token_hash: &str) -> Option<Arc<Session>> {
        let entry = self.sessions.get(token_hash)?;
        let identity = entry.value.identity_id.clone();
        self.fresh(Kind::Sessions, identity.as_str(), Some(entry))
    }

    /// Caches a live session read after `fill` began.
    pub fn put_session(&self, token_hash: String, session: Arc<Session>, fill: Fill) {
        if let Some(stamp) =
            self.stamp_for_insert(fill, Kind::Sessions, session.identity_id.as_str())
        {
            self.sessions.insert(
                token_hash,
                Entry {
                    stamp,
                    value: session,
                },
            );
        }
    }

    /// A cached access decision.
    pub fn access(
        &self,
        identity: &IdentityId,
        org: &OrgId,
        room: Option<&RoomId>,
    ) -> Option<AccessDecision> {
        let key = (identity.clone(), org.clone(), room.cloned());
        self.fresh(Kind::Access, identity.as_str(), self.access.get(&key))
    }

    /// Caches an access decision read after `fill` began.
    pub fn put_access(
        &self,
        identity: &IdentityId,
        org: &OrgId,
        room: Option<&RoomId>,
        decision: AccessDecision,
        fill: Fill,
    ) {
        if let Some(stamp) = self.stamp_for_insert(fill, Kind::Access, identity.as_str()) {
            self.access.insert(
                (identity.clone(), org.clone(), room.cloned()),
                Entry {
                    stamp,
                    value: decision,
                },
            );
        }
    }

    /// A cached profile of `identity` as seen in `org`.
    pub fn profile(&self, org: &OrgId, identity: &IdentityId) -> Option<Profile> {
        let key = (org.clone(), identity.clone());
        self.fresh(Kind::Profiles, identity.as_str(), self.profiles.get(&key))
    }

    /// Caches a profile read after `fill` began.
    pub fn put_profile(&self, org: &OrgId, identity: &IdentityId, profile: Profile, fill: Fill) {
        if let Some(stamp) = self.stamp_for_insert(fill, Kind::Profiles, identity.as_str()) {
            self.profiles.insert(
                (org.clone(), identity.clone()),
                Entry {
                    stamp,
                    value: profile,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, CredentialId, PackageId, SessionId};

    fn session(identity: &str) -> Arc<Session> {
        Arc::new(Session {
            id: SessionId::generate(),
            identity_id: IdentityId::from_trusted(identity.into()),
            package_id: PackageId::generate(),
            credential_id: CredentialId::generate(),
            created_at: Default::default(),
            expires_at: Default::default(),
        })
    }

    fn event(t: EventType, identity: Option<&str>) -> Event {
        Event {
            seq: 1,
            event_type: t,
            actor: Actor::system(),
            subject_id: String::new(),
            reason: String::new(),
            occurred_at: Default::default(),
            identity_id: identity.map(str::to_owned),
            org_id: None,
            package_id: None,
            room_id: None,
            credential_id: None,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn an_event_about_an_identity_drops_its_entries_only() {
        let c = Caches::new();
        let fill = c.begin();
        c.put_session("a".into(), session("AAAAAAAA"), fill);
        c.put_session("b".into(), session("BBBBBBBB"), fill);
        c.invalidate(&event(EventType::IdentityRevoked, Some("AAAAAAAA")));
        assert!(c.session("a").is_none());
        assert!(c.session("b").is_some());
    }

    #[test]
    fn a_fill_racing_with_an_invalidation_is_not_stored() {
        let c = Caches::new();
        let fill = c.begin();
        // The change commits and is applied while the fill reads the database.
        c.invalidate(&event(EventType::MemberDeactivated, Some("AAAAAAAA")));
        c.put_session("a".into(), session("AAAAAAAA"), fill);
        assert!(c.session("a").is_none());
    }

    #[test]
    fn deleting_a_credential_drops_every_session_and_disabling_drops_all() {
        let c = Caches::new();
        c.put_session("a".into(), session("AAAAAAAA"), c.begin());
        c.invalidate(&event(EventType::CredentialDeleted, None));
        assert!(c.session("a").is_none());
        c.put_session("a".into(), session("AAAAAAAA"), c.begin());
        assert!(c.session("a").is_some());
        c.set_enabled(false);
        assert!(c.session("a").is_none());
        c.put_session("a".into(), session("AAAAAAAA"), c.begin());
        assert!(c.session("a").is_none());
    }
}
