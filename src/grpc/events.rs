//! `roster.v1.EventService` (E1, E2): the audit log and the live stream.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tonic::{Request, Response, Status};

use super::Ctx;
use super::authn;
use super::convert::{self, ts};
use crate::domain::validate::Violations;
use crate::domain::{
    self, Error, EventType, IdentityId, OrgId, PackageId, Principal, Reason, Result,
};
use crate::pb;
use crate::store::EventQuery;

/// Events read per database round trip while catching up.
const CATCH_UP_BATCH: u64 = 500;
/// Heartbeat period of a quiet stream; the caller's token and rights are
/// checked again at each one.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Implementation of `EventService`.
#[derive(Debug, Clone)]
pub struct EventApi {
    ctx: Arc<Ctx>,
}

impl EventApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        EventApi { ctx }
    }
}

const CURSOR_PREFIX: &str = "c1:";

/// The opaque cursor of a sequence number.
pub fn cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn parse_cursor(raw: &str) -> Option<i64> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
}

/// The wire type of a domain event type.
pub fn event_type_to_pb(t: EventType) -> pb::EventType {
    pb::EventType::from_str_name(&format!("EVENT_TYPE_{}", t.as_str()))
        .unwrap_or(pb::EventType::Unspecified)
}

fn event_type_from_pb(t: pb::EventType) -> Option<EventType> {
    t.as_str_name()
        .strip_prefix("EVENT_TYPE_")
        .and_then(EventType::from_db)
}

impl From<&domain::Event> for pb::Event {
    fn from(e: &domain::Event) -> Self {
        pb::Event {
            cursor: cursor(e.seq),
            r#type: event_type_to_pb(e.event_type) as i32,
            actor: Some(e.actor.clone().into()),
            subject_id: e.subject_id.clone(),
            reason: e.reason.clone(),
            commit_time: ts(e.occurred_at),
            identity_id: e.identity_id.clone().unwrap_or_default(),
            organization_id: e.org_id.clone().unwrap_or_default(),
            package_id: e.package_id.clone().unwrap_or_default(),
            room_id: e.room_id.clone().unwrap_or_default(),
            attributes: e.attributes.iter().cloned().collect(),
        }
    }
}

/// Parses an event filter; `field` is its path in the request.
fn parse_filter(v: &mut Violations, field: &str, f: Option<&pb::EventFilter>) -> EventQuery {
    let Some(f) = f else {
        return EventQuery::default();
    };
    let org = v.optional_id(
        &format!("{field}.organization_id"),
        &f.organization_id,
        OrgId::parse,
    );
    let package = v.optional_id(
        &format!("{field}.package_id"),
        &f.package_id,
        PackageId::parse,
    );
    let identity = v.optional_id(
        &format!("{field}.identity_id"),
        &f.identity_id,
        IdentityId::parse,
    );
    if f.types.len() > 64 {
        v.add(format!("{field}.types"), "must list at most 64 types");
    }
    let mut types = Vec::new();
    for (i, raw) in f.types.iter().enumerate() {
        match pb::EventType::try_from(*raw)
            .ok()
            .and_then(event_type_from_pb)
        {
            Some(t) => types.push(t),
            None => v.add(format!("{field}.types[{i}]"), "is not a known event type"),
        }
    }
    EventQuery {
        identity_id: identity.map(|i| i.to_string()),
        org_id: org.map(|o| o.to_string()),
        package_id: package.map(|p| p.to_string()),
        types,
    }
}

/// On what right a caller reads events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// Its own: a service, its own identity, a package it administers or
    /// an organization it administers.
    Own,
    /// Standing in for the admins of an organization that has no active
    /// admin, as an admin of its package (M2): ends once the organization
    /// has an admin again.
    StandIn,
}

/// A1–A3 for events: services see everything; a person sees their own
/// identity's events, their packages' (as admin) and their organizations'
/// (as active admin, or as a package admin while the organization has no
/// active admin, M2). Since every set filter field must match, one
/// permitted field bounds the result.
async fn authorize(ctx: &Ctx, principal: &Principal, q: &EventQuery) -> Result<Grant> {
    let Some(me) = principal.identity_id() else {
        return Ok(Grant::Own);
    };
    if q.identity_id.as_deref() == Some(me.as_str()) {
        return Ok(Grant::Own);
    }
    if let Some(p) = &q.package_id
        && ctx
            .store
            .is_package_admin(&PackageId::from_trusted(p.clone()), me)
            .await?
    {
        return Ok(Grant::Own);
    }
    if let Some(o) = &q.org_id {
        let org = OrgId::from_trusted(o.clone());
        if ctx.store.member_standing(&org, me).await?
            == Some((domain::MemberRole::Admin, domain::MemberState::Active))
        {
            return Ok(Grant::Own);
        }
        if ctx.store.stewards_orphaned_org(&org, me).await? {
            return Ok(Grant::StandIn);
        }
    }
    Err(Error::denied(
        Reason::NotAuthorized,
        "filter by your own identity_id, a package you administer or an organization you administer",
    ))
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEventsResponse, Status>> + Send>>;

struct Watch {
    ctx: Arc<Ctx>,
    filter: EventQuery,
    /// Last sequence number examined (delivered or filtered out).
    pos: i64,
    tx: mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
    /// The bearer token the stream was opened with.
    token: Arc<str>,
    /// The right the caller watches on, as of the last check.
    grant: Grant,
}

/// Event types that can take a watcher's right to its stream away: its
/// session ending (sign-out, credential deleted, detached, revoked), its
/// package admin role (package admins changed) or its organization admin
/// role (demoted, deactivated, removed). A stand-in's right also ends with
/// [`ends_stand_in`].
fn may_revoke_rights(t: EventType) -> bool {
    matches!(
        t,
        EventType::SessionEnded
            | EventType::IdentityRevoked
            | EventType::IdentityDetached
            | EventType::CredentialDeleted
            | EventType::PackageUpdated
            | EventType::MemberRoleUpdated
            | EventType::MemberDeactivated
            | EventType::MemberRemoved
    )
}

/// Event types in an organization that can end a stand-in's right there
/// (M2): an admin added, reactivated or restored (a promotion is
/// MEMBER_ROLE_UPDATED, already in [`may_revoke_rights`]).
fn ends_stand_in(t: EventType) -> bool {
    matches!(
        t,
        EventType::MemberAdded | EventType::MemberReactivated | EventType::MemberRestored
    )
}

impl Watch {
    /// Whether the caller may still watch (A1–A3 again, against the state
    /// as of now: the caches are invalidated before an event fans out).
    async fn still_allowed(&mut self) -> Result<()> {
        let principal = self.ctx.auth.principal(&self.token).await?;
        self.grant = authorize(&self.ctx, &principal, &self.filter).await?;
        Ok(())
    }

    /// Before `e` goes out (or is skipped): when it may have taken the
    /// caller's right away, checks again. Every later event is committed
    /// after it, so none reaches a caller who lost the right (E2).
    async fn guard(&mut self, e: &domain::Event) -> Result<()> {
        let stand_in_ended = self.grant == Grant::StandIn
            && ends_stand_in(e.event_type)
            && e.org_id.is_some()
            && e.org_id == self.filter.org_id;
        if may_revoke_rights(e.event_type) || stand_in_ended {
            self.still_allowed().await?;
        }
        Ok(())
    }

    /// Sends a message; false when the caller has gone.
    async fn send(&self, event: Option<&domain::Event>) -> bool {
        let msg = pb::WatchEventsResponse {
            event: event.map(pb::Event::from),
            cursor: cursor(self.pos),
        };
        self.tx.send(Ok(msg)).await.is_ok()
    }

    /// Delivers every matching event after `pos` from the database.
    async fn catch_up(&mut self) -> Result<bool> {
        loop {
            let (_, upto) = self.ctx.store.event_bounds().await?;
            let events = self
                .ctx
                .store
                .events_after(self.pos, CATCH_UP_BATCH, &self.filter)
                .await?;
            let full = events.len() as u64 == CATCH_UP_BATCH;
            // The batch was read after every event in it committed, so one
            // check now covers a right lost anywhere before it (the batch
            // holds matching events only, maybe not the one that took it).
            // Also when it is empty but the position moves on to `upto`:
            // the events passed over may have taken the right.
            if !events.is_empty() || upto > self.pos {
                self.still_allowed().await?;
            }
            for e in &events {
                self.pos = e.seq;
                if !self.send(Some(e)).await {
                    return Ok(false);
                }
            }
            if !full {
                // Everything matching up to `upto` has been delivered.
                self.pos = self.pos.max(upto);
                return Ok(true);
            }
        }
    }

    async fn run(mut self, mut live: broadcast::Receiver<Arc<domain::Event>>) {
        let _open = self.ctx.feed.stream_opened();
        let mut stop = self.ctx.stop.clone();
        if !self.send(None).await {
            return;
        }
        match self.catch_up().await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = self.tx.send(Err(e.into())).await;
                return;
            }
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(e) => {
                        // Guarded even when a catch-up already moved past
                        // it: that catch-up checked the caller only if it
                        // found a matching event, so a right-taking event
                        // outside the filter must not be skipped unchecked.
                        if let Err(err) = self.guard(&e).await {
                            let _ = self.tx.send(Err(err.into())).await;
                            return;
                        }
                        if e.seq <= self.pos {
                            continue;
                        }
                        self.pos = e.seq;
                        if self.filter.matches(&e) && !self.send(Some(&e)).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => match self.catch_up().await {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => {
                            let _ = self.tx.send(Err(e.into())).await;
                            return;
                        }
                    },
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = heartbeat.tick() => {
                    // The caller's session or rights may have ended since.
                    // Sessions also end by expiry, which writes no event.
                    if let Err(e) = self.still_allowed().await {
                        let _ = self.tx.send(Err(e.into())).await;
                        return;
                    }
                    if !self.send(None).await {
                        return;
                    }
                }
                _ = stop.changed() => {
                    let _ = self.tx.send(Err(Status::unavailable("server shutting down; resume from your cursor"))).await;
                    return;
                }
            }
        }
    }
}

#[tonic::async_trait]
impl pb::event_service_server::EventService for EventApi {
    type WatchEventsStream = WatchStream;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let caller = authn::caller(&request)?;
        let principal = caller.principal.clone();
        let token: Arc<str> = Arc::from(caller.token());
        let req = request.into_inner();
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, "filter", req.filter.as_ref());
        let after = if req.cursor.is_empty() {
            None
        } else {
            let c = parse_cursor(&req.cursor);
            if c.is_none() {
                v.add("cursor", "is not a cursor of this stream");
            }
            c
        };
        v.finish()?;
        let grant = authorize(&self.ctx, &principal, &filter).await?;

        // Subscribe before reading the log so nothing falls in between.
        let live = self.ctx.feed.subscribe();
        let (lo, hi) = self.ctx.store.event_bounds().await?;
        let pos = match after {
            None => hi,
            Some(c) if c > hi => {
                return Err(Error::OutOfRange {
                    reason: Reason::CursorExpired,
                    message: "the cursor is ahead of the event log (another deployment?)".into(),
                }
                .into());
            }
            Some(c) if lo > 0 && c < lo - 1 => {
                return Err(Error::OutOfRange {
                    reason: Reason::CursorExpired,
                    message: "the cursor is older than the retention window; \
                              start again without a cursor and re-read state"
                        .into(),
                }
                .into());
            }
            Some(c) => c,
        };
        let (tx, rx) = mpsc::channel(256);
        let watch = Watch {
            ctx: self.ctx.clone(),
            filter,
            pos,
            tx,
            token,
            grant,
        };
        tokio::spawn(watch.run(live));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, "filter", req.filter.as_ref());
        let scopes = [&filter.org_id, &filter.package_id, &filter.identity_id]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if scopes != 1 {
            v.add(
                "filter",
                "set exactly one of organization_id, package_id or identity_id",
            );
        }
        let page = convert::page_request(&mut v, req.page_size, &req.page_token);
        v.finish()?;
        authorize(&self.ctx, &principal, &filter).await?;
        let page = self.ctx.store.list_events(&filter, &page).await?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: page.items.iter().map(pb::Event::from).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_event_type_has_a_wire_value() {
        let all = [
            EventType::IdentityCreated,
            EventType::RevocationPasswordSet,
            EventType::IdentityRevoked,
            EventType::SessionStarted,
            EventType::SessionEnded,
            EventType::PackageCreated,
            EventType::PackageUpdated,
            EventType::CredentialIssued,
            EventType::CredentialDeleted,
            EventType::IdentityAttached,
            EventType::IdentityDetached,
            EventType::OrganizationCreated,
            EventType::OrganizationUpdated,
            EventType::MemberAdded,
            EventType::MemberRoleUpdated,
            EventType::MemberDeactivated,
            EventType::MemberReactivated,
            EventType::MemberRemoved,
            EventType::RoomCreated,
            EventType::RoomMemberAdded,
            EventType::RoomMemberUpdated,
            EventType::RoomMemberRemoved,
            EventType::AssignmentCreated,
            EventType::AssignmentsTransferred,
            EventType::ServiceKeyCreated,
            EventType::ScheduledChangeCreated,
            EventType::ScheduledChangeCancelled,
            EventType::ScheduledChangeExecuted,
            EventType::ScheduledChangeFailed,
            EventType::DeactivationReturnDue,
            EventType::MemberRestored,
            EventType::ScimTokenCreated,
            EventType::ScimTokenRevoked,
            EventType::ScimUserUpdated,
            EventType::RoomUpdated,
            EventType::RoomDeleted,
            EventType::LeftWithoutAdmin,
        ];
        for t in all {
            let wire = event_type_to_pb(t);
            assert_ne!(wire, pb::EventType::Unspecified, "{t:?}");
            assert_eq!(event_type_from_pb(wire), Some(t));
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(parse_cursor(&cursor(42)), Some(42));
        assert_eq!(parse_cursor("garbage"), None);
        assert_eq!(parse_cursor(&URL_SAFE_NO_PAD.encode("c1:-3")), None);
    }
}
