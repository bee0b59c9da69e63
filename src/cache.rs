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
//! A fill that raced with an invalidation of its own entry must not be
//! stored. Every invalidation first increments an epoch and then raises the
//! generations it touches *to* the new epoch (so a generation is the epoch
//! of its last bump); [`Caches::begin`] reads the epoch before the database
//! read, and an insert is dropped when its identity's stripe or its cache's
//! generation is newer than that. Fills of identities nobody changed
//! survive a stream of other changes (a whole-epoch check would refuse
//! every fill while any change is arriving, so under churn an invalidated
//! key would go to the database on every call). While the cross-replica
//! listener is down, caches are bypassed entirely.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::DefaultHashBuilder;
use quick_cache::sync::Cache;

use crate::domain::{
    AccessDecision, Event, EventType, IdentityId, OrgId, Profile, RoomId, Session,
};

/// Identities share a stripe by hash; a change drops the entries of every
/// identity on its stripe, so at 1,000 changes/s 1.5 % of the stripes are
/// bumped per second (512 KiB of counters).
const STRIPES: usize = 1 << 16;
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
    stored: Instant,
    value: V,
}

impl<V> Entry<V> {
    fn new(stamp: Stamp, value: V) -> Self {
        Entry {
            stamp,
            stored: Instant::now(),
            value,
        }
    }
}

/// Entries each cache holds at most (S3-FIFO eviction beyond that).
const SESSIONS: usize = 100_000;
const ACCESS: usize = 200_000;
const PROFILES: usize = 200_000;
/// Longest composite key built on the stack; IDs are far shorter.
const KEY_BUF: usize = 128;
/// Separates the IDs of a composite key; no ID contains it.
const SEP: u8 = 0x1f;

/// Calls `f` with the IDs joined into one key, without allocating for
/// keys of ordinary length. One string key hashes and compares faster
/// than a tuple of strings, and a lookup needs no owned copy of the IDs.
fn with_key<R>(parts: &[&str], f: impl FnOnce(&str) -> R) -> R {
    let len = parts.iter().map(|p| p.len() + 1).sum::<usize>();
    if len > KEY_BUF {
        return f(&owned_key(parts));
    }
    let mut buf = [0u8; KEY_BUF];
    let mut at = 0;
    for p in parts {
        buf[at..at + p.len()].copy_from_slice(p.as_bytes());
        buf[at + p.len()] = SEP;
        at += p.len() + 1;
    }
    // UTF-8 pieces joined by an ASCII byte are UTF-8; the owned key is a
    // fallback that never runs, not a panic on the request path.
    match std::str::from_utf8(&buf[..at]) {
        Ok(key) => f(key),
        Err(_) => f(&owned_key(parts)),
    }
}

fn owned_key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        key.push_str(p);
        key.push(SEP as char);
    }
    key
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

/// `serve_until` value meaning "no lease needed" (SQLite, unit tests).
const FOREVER: u64 = u64::MAX;

/// The hot-path caches of one replica.
pub struct Caches {
    enabled: AtomicBool,
    /// C0: entries are served only before this instant, nanoseconds after
    /// `base` (the replica's lease, see `lease.rs`); 0 = not at all.
    serve_until: AtomicU64,
    base: Instant,
    epoch: AtomicU64,
    /// Fills refused because a change of their entry raced with the read.
    dropped_fills: AtomicU64,
    globals: [AtomicU64; 3],
    stripes: Box<[AtomicU64]>,
    hasher: DefaultHashBuilder,
    /// By token hash.
    sessions: Cache<String, Entry<Arc<Session>>>,
    /// By identity, organization and room (empty when none) joined.
    access: Cache<String, Entry<AccessDecision>>,
    /// By organization and identity joined.
    profiles: Cache<String, Entry<Profile>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("enabled", &self.is_enabled())
            .field("sessions", &self.sessions.len())
            .field("access", &self.access.len())
            .field("profiles", &self.profiles.len())
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
            | EventType::ScheduledChangeCreated
            | EventType::ScheduledChangeCancelled
            | EventType::ScheduledChangeExecuted
            | EventType::ScheduledChangeFailed
            | EventType::DeactivationReturnDue
            | EventType::ScimTokenCreated
            | EventType::ScimTokenRevoked
            | EventType::RoomUpdated
    )
}

impl Caches {
    /// Empty caches, enabled.
    pub fn new() -> Self {
        Caches {
            enabled: AtomicBool::new(true),
            serve_until: AtomicU64::new(FOREVER),
            base: Instant::now(),
            epoch: AtomicU64::new(0),
            dropped_fills: AtomicU64::new(0),
            globals: Default::default(),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: Default::default(),
            sessions: Cache::new(SESSIONS),
            access: Cache::new(ACCESS),
            profiles: Cache::new(PROFILES),
        }
    }

    fn stripe(&self, identity: &str) -> &AtomicU64 {
        let h = self.hasher.hash_one(identity) as usize;
        &self.stripes[h % STRIPES]
    }

    fn stamp(&self, kind: Kind, identity: &str) -> Stamp {
        Stamp {
            global: self.globals[kind as usize].load(Ordering::SeqCst),
            stripe: self.stripe(identity).load(Ordering::SeqCst),
        }
    }

    fn is_fresh<V>(&self, kind: Kind, identity: &str, entry: &Entry<V>) -> bool {
        let now = Instant::now();
        self.serving_at(now)
            && entry.stamp == self.stamp(kind, identity)
            && now.saturating_duration_since(entry.stored) < TTL
    }

    /// Whether entries may be served at `now`: the listener is up and the
    /// lease has not run out.
    fn serving_at(&self, now: Instant) -> bool {
        self.enabled.load(Ordering::Acquire) && {
            let until = self.serve_until.load(Ordering::Acquire);
            until == FOREVER || (now.saturating_duration_since(self.base).as_nanos() as u64) < until
        }
    }

    /// Lets the caches serve until `until` (a renewed lease). Entries
    /// cached before a lapse are not revived: a lapse clears them.
    pub fn serve_until(&self, until: Instant) {
        let nanos = until.saturating_duration_since(self.base).as_nanos() as u64;
        self.serve_until
            .store(nanos.min(FOREVER - 1), Ordering::Release);
    }

    /// Lets the caches serve without a lease (a single replica on SQLite).
    pub fn serve_forever(&self) {
        self.serve_until.store(FOREVER, Ordering::Release);
    }

    /// Stops serving from the caches at once and forgets them (a failed
    /// read of the log, a lapsed lease) until `serve_until` is called.
    pub fn stop_serving(&self) {
        self.serve_until.store(0, Ordering::Release);
        self.clear();
    }

    fn fresh<V>(&self, kind: Kind, identity: &str, entry: Option<Entry<V>>) -> Option<V> {
        let entry = entry?;
        self.is_fresh(kind, identity, &entry).then_some(entry.value)
    }

    /// The stamp to store with a fill, or `None` when the fill may be stale.
    ///
    /// Safe because a change the fill's read missed committed after the
    /// read began, so its invalidation incremented the epoch after `begin`
    /// read it and raises the generation above `fill.epoch`: either this
    /// check sees that, or the raise comes later and the stored stamp is
    /// stale before any reader can be told the change is done.
    fn stamp_for_insert(&self, fill: Fill, kind: Kind, identity: &str) -> Option<Stamp> {
        if !(fill.enabled && self.is_enabled()) {
            return None;
        }
        let stamp = self.stamp(kind, identity);
        if stamp.global <= fill.epoch && stamp.stripe <= fill.epoch {
            Some(stamp)
        } else {
            self.dropped_fills.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    /// Fills refused so far because a change raced with their read.
    pub fn dropped_fills(&self) -> u64 {
        self.dropped_fills.load(Ordering::Relaxed)
    }

    /// Starts an invalidation: the epoch its generations are raised to.
    fn next_epoch(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether caches are in use (listener up, lease valid).
    pub fn is_enabled(&self) -> bool {
        self.serving_at(Instant::now())
    }

    /// Turns caching on or off (the feed switches it off while it cannot
    /// hear other replicas); either way everything cached so far is dropped.
    pub fn set_enabled(&self, on: bool) {
        self.clear();
        self.enabled.store(on, Ordering::Release);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let epoch = self.next_epoch();
        for g in &self.globals {
            g.fetch_max(epoch, Ordering::SeqCst);
        }
    }

    /// Applies one committed event.
    pub fn invalidate(&self, event: &Event) {
        let epoch = self.next_epoch();
        if let Some(identity) = &event.identity_id {
            self.stripe(identity).fetch_max(epoch, Ordering::SeqCst);
        }
        if event.event_type == EventType::CredentialDeleted {
            self.globals[Kind::Sessions as usize].fetch_max(epoch, Ordering::SeqCst);
        } else if event.identity_id.is_none() && !harmless_without_identity(event.event_type) {
            self.clear();
        }
    }

    /// Starts a fill: call before the database read.
    pub fn begin(&self) -> Fill {
        Fill {
            epoch: self.epoch.load(Ordering::SeqCst),
            enabled: self.is_enabled(),
        }
    }

    /// A cached live session by token hash.
    pub fn session(&self, token_hash: &str) -> Option<Arc<Session>> {
        let entry = self.sessions.get(token_hash)?;
        let fresh = self.is_fresh(Kind::Sessions, entry.value.identity_id.as_str(), &entry);
        fresh.then_some(entry.value)
    }

    /// Caches a live session read after `fill` began.
    pub fn put_session(&self, token_hash: String, session: Arc<Session>, fill: Fill) {
        if let Some(stamp) =
            self.stamp_for_insert(fill, Kind::Sessions, session.identity_id.as_str())
        {
            self.sessions.insert(token_hash, Entry::new(stamp, session));
        }
    }

    /// A cached access decision.
    pub fn access(
        &self,
        identity: &IdentityId,
        org: &OrgId,
        room: Option<&RoomId>,
    ) -> Option<AccessDecision> {
        let entry = with_key(
            &[
                identity.as_str(),
                org.as_str(),
                room.map_or("", RoomId::as_str),
            ],
            |k| self.access.get(k),
        );
        self.fresh(Kind::Access, identity.as_str(), entry)
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
            let key = owned_key(&[
                identity.as_str(),
                org.as_str(),
                room.map_or("", RoomId::as_str),
            ]);
            self.access.insert(key, Entry::new(stamp, decision));
        }
    }

    /// A cached profile of `identity` as seen in `org`.
    pub fn profile(&self, org: &OrgId, identity: &IdentityId) -> Option<Profile> {
        let entry = with_key(&[org.as_str(), identity.as_str()], |k| self.profiles.get(k));
        self.fresh(Kind::Profiles, identity.as_str(), entry)
    }

    /// Caches a profile read after `fill` began.
    pub fn put_profile(&self, org: &OrgId, identity: &IdentityId, profile: Profile, fill: Fill) {
        if let Some(stamp) = self.stamp_for_insert(fill, Kind::Profiles, identity.as_str()) {
            let key = owned_key(&[org.as_str(), identity.as_str()]);
            self.profiles.insert(key, Entry::new(stamp, profile));
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
    fn composite_keys_of_any_length_find_their_entry() {
        let c = Caches::new();
        let allowed = AccessDecision::Allowed {
            role: crate::domain::MemberRole::Member,
            room: None,
        };
        let id = IdentityId::from_trusted("AAAAAAAA".into());
        let short = OrgId::from_trusted("org_0123456789abcdef".into());
        let long = OrgId::from_trusted(format!("org_{}", "x".repeat(200)));
        for org in [&short, &long] {
            c.put_access(&id, org, None, allowed.clone(), c.begin());
            assert_eq!(c.access(&id, org, None), Some(allowed.clone()));
        }
        let room = RoomId::from_trusted("room_0123456789abcdef".into());
        assert_eq!(c.access(&id, &short, Some(&room)), None);
    }

    #[test]
    fn entries_are_served_only_while_the_lease_is_valid() {
        let c = Caches::new();
        c.put_session("a".into(), session("AAAAAAAA"), c.begin());
        assert!(c.session("a").is_some());
        // The lease ran out: nothing is served, nothing is stored.
        c.serve_until(Instant::now() - Duration::from_millis(1));
        assert!(c.session("a").is_none());
        c.put_session("b".into(), session("BBBBBBBB"), c.begin());
        // A continuous renewal serves the entries again.
        c.serve_until(Instant::now() + Duration::from_secs(5));
        assert!(c.session("a").is_some());
        assert!(c.session("b").is_none());
        // A failed read of the log stops serving and forgets.
        c.stop_serving();
        assert!(c.session("a").is_none());
        c.serve_until(Instant::now() + Duration::from_secs(5));
        assert!(c.session("a").is_none());
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
    fn a_fill_survives_changes_of_other_identities_but_not_a_clear() {
        let c = Caches::new();
        let fill = c.begin();
        c.invalidate(&event(EventType::MemberDeactivated, Some("BBBBBBBB")));
        c.invalidate(&event(EventType::IdentityRevoked, Some("CCCCCCCC")));
        c.put_session("a".into(), session("AAAAAAAA"), fill);
        assert!(c.session("a").is_some());
        // A change of A after the fill began (the fill may have missed it).
        let fill = c.begin();
        c.invalidate(&event(EventType::MemberReactivated, Some("BBBBBBBB")));
        c.invalidate(&event(EventType::SessionEnded, Some("AAAAAAAA")));
        c.put_session("a2".into(), session("AAAAAAAA"), fill);
        assert!(c.session("a2").is_none());
        // A change that may touch anyone drops racing fills of everyone.
        let fill = c.begin();
        c.invalidate(&event(EventType::CredentialDeleted, None));
        c.put_session("b".into(), session("BBBBBBBB"), fill);
        assert!(c.session("b").is_none());
        let fill = c.begin();
        c.clear();
        let allowed = AccessDecision::Allowed {
            role: crate::domain::MemberRole::Member,
            room: None,
        };
        let (id, org) = (
            IdentityId::from_trusted("BBBBBBBB".into()),
            OrgId::from_trusted("org_0123456789abcdef".into()),
        );
        c.put_access(&id, &org, None, allowed, fill);
        assert_eq!(c.access(&id, &org, None), None);
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
