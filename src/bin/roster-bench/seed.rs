//! The data set, bulk-inserted straight into the tables (the API would take
//! hours for a million rows); `invariants.rs` then checks that the result
//! is a state the store itself could have produced.

use anyhow::{Context, Result};
use rand::seq::IndexedRandom;
use roster::domain::{AssignmentId, IdentityId, OrgId, RoomId, SessionId, secrets};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Value};

use crate::invariants;

pub struct Sizes {
    pub identities: usize,
    pub orgs: usize,
    pub rooms: usize,
    pub room_members: usize,
    pub assignments: usize,
    pub victims: usize,
    pub victim_rooms: usize,
    pub victim_assignments: usize,
    pub guests: usize,
    pub idle_guests: usize,
    /// Sessions inserted for "ValidateSession, every call a cache miss".
    pub sessions: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Self {
        let k = if quick { 1 } else { 10 };
        Sizes {
            identities: 10_000 * k,
            orgs: 100 * k,
            rooms: 1_000 * k,
            room_members: 100_000 * k,
            assignments: 100_000 * k,
            victims: if quick { 5 } else { 10 },
            victim_rooms: 1_000,
            victim_assignments: 10_000,
            guests: 10_000 * k,
            idle_guests: 1_000 * k,
            sessions: if quick { 100_000 } else { 300_000 },
        }
    }
}

/// A regular organization as seeded: its first member is its ADMIN.
pub struct Org {
    pub id: String,
    pub members: Vec<String>,
    pub rooms: Vec<Room>,
}

/// A room as seeded: its first member is its ADMIN (the organization's).
pub struct Room {
    pub id: String,
    pub members: Vec<String>,
}

pub struct Seeded {
    pub identities: Vec<String>,
    pub orgs: Vec<Org>,
    /// The RemoveMember organization and the members removed from it.
    pub big_org: String,
    pub victims: Vec<String>,
}

/// Multi-row INSERTs of one table, flushed before the bound parameters
/// exceed what SQLite and PostgreSQL accept.
pub struct Inserter<'a> {
    db: &'a DatabaseConnection,
    table: &'static str,
    cols: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl<'a> Inserter<'a> {
    pub fn new(
        db: &'a DatabaseConnection,
        table: &'static str,
        cols: &'static [&'static str],
    ) -> Self {
        Inserter {
            db,
            table,
            cols,
            rows: Vec::new(),
        }
    }

    pub async fn push(&mut self, row: Vec<Value>) -> Result<()> {
        self.rows.push(row);
        // Stay under SQLite's 32k bound parameters and PostgreSQL's 65k.
        if self.rows.len() * self.cols.len() >= 30_000 {
            self.flush().await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let one = format!("({})", roster::store::placeholders(self.cols.len()));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.cols.join(", "),
            vec![one; self.rows.len()].join(", ")
        );
        let values: Vec<Value> = self.rows.drain(..).flatten().collect();
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(roster::store::statement(backend, &sql, values))
            .await
            .with_context(|| format!("seeding {}", self.table))?;
        Ok(())
    }
}

/// The membership tables, filled together.
struct Tables<'a> {
    now: i64,
    package: &'a str,
    orgs: Inserter<'a>,
    members: Inserter<'a>,
    rooms: Inserter<'a>,
    room_members: Inserter<'a>,
    assignments: Inserter<'a>,
}

impl<'a> Tables<'a> {
    fn new(db: &'a DatabaseConnection, package: &'a str, now: i64) -> Self {
        let orgs = Inserter::new(
            db,
            "organizations",
            &[
                "id",
                "display_name",
                "package_id",
                "parent_id",
                "guest_inactivity_ms",
                "created_at",
            ],
        );
        let members = Inserter::new(
            db,
            "members",
            &[
                "organization_id",
                "identity_id",
                "package_id",
                "role",
                "state",
                "joined_at",
                "last_activity_at",
            ],
        );
        let rooms = Inserter::new(
            db,
            "rooms",
            &["id", "organization_id", "display_name", "created_at"],
        );
        let room_members = Inserter::new(
            db,
            "room_members",
            &[
                "room_id",
                "identity_id",
                "organization_id",
                "role",
                "can_delete_entries",
                "added_at",
            ],
        );
        let assignments = Inserter::new(
            db,
            "assignments",
            &[
                "id",
                "organization_id",
                "room_id",
                "kind",
                "title",
                "created_at",
                "assignee_id",
                "assignee_tenure",
            ],
        );
        Tables {
            now,
            package,
            orgs,
            members,
            rooms,
            room_members,
            assignments,
        }
    }

    async fn org(
        &mut self,
        id: &str,
        name: String,
        guest_inactivity_ms: Option<i64>,
    ) -> Result<()> {
        self.orgs
            .push(vec![
                id.into(),
                name.into(),
                self.package.into(),
                Value::String(None),
                guest_inactivity_ms.into(),
                self.now.into(),
            ])
            .await
    }

    /// An ACTIVE member whose last activity was at `last`.
    async fn member(&mut self, org: &str, identity: &str, role: &str, last: i64) -> Result<()> {
        self.members
            .push(vec![
                org.into(),
                identity.into(),
                self.package.into(),
                role.into(),
                "ACTIVE".into(),
                last.into(),
                last.into(),
            ])
            .await
    }

    async fn room(&mut self, id: &str, org: &str, name: String) -> Result<()> {
        let row = vec![id.into(), org.into(), name.into(), self.now.into()];
        self.rooms.push(row).await
    }

    /// `members` into `room`, the first as room ADMIN.
    async fn room_members(&mut self, room: &str, org: &str, members: &[&String]) -> Result<()> {
        for (i, m) in members.iter().enumerate() {
            self.room_members
                .push(vec![
                    room.into(),
                    m.as_str().into(),
                    org.into(),
                    if i == 0 { "ADMIN" } else { "MEMBER" }.into(),
                    true.into(),
                    self.now.into(),
                ])
                .await?;
        }
        Ok(())
    }

    async fn assignment(
        &mut self,
        org: &str,
        room: &str,
        title: String,
        assignee: &str,
    ) -> Result<()> {
        self.assignments
            .push(vec![
                AssignmentId::generate().to_string().into(),
                org.into(),
                room.into(),
                "TASK".into(),
                title.into(),
                self.now.into(),
                assignee.into(),
                // Seeded members keep the default tenure 0 (checked by
                // `invariants`: every seeded assignment is assigned).
                0i64.into(),
            ])
            .await
    }

    async fn flush(&mut self) -> Result<()> {
        self.orgs.flush().await?;
        self.members.flush().await?;
        self.rooms.flush().await?;
        self.room_members.flush().await?;
        self.assignments.flush().await
    }
}

/// Seeds everything into `db` for `package` (created through the API),
/// checks the store's invariants, and settles the database.
pub async fn seed(db: &DatabaseConnection, sizes: &Sizes, package: &str) -> Result<Seeded> {
    let now = chrono::Utc::now().timestamp_millis();
    let identities = seed_identities(db, sizes, package, now).await?;
    let mut t = Tables::new(db, package, now);
    let orgs = seed_orgs(&mut t, sizes, &identities).await?;
    let (big_org, victims) = seed_big_org(&mut t, sizes, &identities).await?;
    seed_guest_orgs(&mut t, sizes, &identities).await?;
    t.flush().await?;
    let backend = db.get_database_backend();
    db.execute_raw(roster::store::statement(
        backend,
        "UPDATE license_packages SET seats_used = (SELECT COUNT(*) FROM attachments WHERE package_id = ?) WHERE id = ?",
        vec![package.into(), package.into()],
    ))
    .await?;
    invariants::check(db, true).await.context("after seeding")?;
    settle(db).await?;
    Ok(Seeded {
        identities,
        orgs,
        big_org,
        victims,
    })
}

/// `sizes.identities` ACTIVE identities, each attached to `package` (by
/// membership: every one of them is a member of a regular organization).
/// Returned sorted.
async fn seed_identities(
    db: &DatabaseConnection,
    sizes: &Sizes,
    package: &str,
    now: i64,
) -> Result<Vec<String>> {
    let mut ids = Inserter::new(
        db,
        "identities",
        &["id", "display_name", "avatar_url", "state", "created_at"],
    );
    let mut identities = Vec::with_capacity(sizes.identities);
    while identities.len() < sizes.identities {
        let id = IdentityId::generate().to_string();
        identities.push(id.clone());
        ids.push(vec![
            id.clone().into(),
            format!("Person {}", identities.len()).into(),
            format!("https://avatars.example/{id}.png").into(),
            "ACTIVE".into(),
            now.into(),
        ])
        .await?;
    }
    identities.sort();
    identities.dedup();
    ids.flush().await?;

    let mut attachments = Inserter::new(
        db,
        "attachments",
        &[
            "package_id",
            "identity_id",
            "method",
            "signed_in",
            "attached_at",
        ],
    );
    for id in &identities {
        attachments
            .push(vec![
                package.into(),
                id.clone().into(),
                "MEMBERSHIP".into(),
                false.into(),
                now.into(),
            ])
            .await?;
    }
    attachments.flush().await?;
    Ok(identities)
}

/// Regular organizations: identities split evenly, rooms split evenly,
/// each room holding an even share of its organization's members and the
/// same number of assignments.
async fn seed_orgs(t: &mut Tables<'_>, sizes: &Sizes, identities: &[String]) -> Result<Vec<Org>> {
    let mut rng = rand::rng();
    let per_org = identities.len() / sizes.orgs;
    let rooms_per_org = sizes.rooms / sizes.orgs;
    let room_size = (sizes.room_members / sizes.rooms).min(per_org);
    let assignments_per_room = sizes.assignments / sizes.rooms;
    let mut orgs = Vec::new();
    for o in 0..sizes.orgs {
        let org = OrgId::generate().to_string();
        t.org(&org, format!("Org {o}"), None).await?;
        let org_members: Vec<String> = identities[o * per_org..(o + 1) * per_org].to_vec();
        for (i, m) in org_members.iter().enumerate() {
            let role = if i == 0 { "ADMIN" } else { "MEMBER" };
            t.member(&org, m, role, t.now).await?;
        }
        let mut rooms = Vec::new();
        for r in 0..rooms_per_org {
            let room = RoomId::generate().to_string();
            t.room(&room, &org, format!("Room {r}")).await?;
            let mut in_room: Vec<String> =
                org_members.sample(&mut rng, room_size).cloned().collect();
            // The org admin administers every room.
            in_room.retain(|m| m != &org_members[0]);
            in_room.insert(0, org_members[0].clone());
            in_room.truncate(room_size);
            t.room_members(&room, &org, &in_room.iter().collect::<Vec<_>>())
                .await?;
            for a in 0..assignments_per_room {
                let assignee = &in_room[a % in_room.len()];
                t.assignment(&org, &room, format!("Task {a}"), assignee)
                    .await?;
            }
            rooms.push(Room {
                id: room,
                members: in_room,
            });
        }
        orgs.push(Org {
            id: org,
            members: org_members,
            rooms,
        });
    }
    Ok(orgs)
}

/// The RemoveMember scenario: an organization with `victim_rooms` rooms;
/// each victim is a member of all of them with `victim_assignments`
/// assignments. Returns the organization and the victims.
async fn seed_big_org(
    t: &mut Tables<'_>,
    sizes: &Sizes,
    identities: &[String],
) -> Result<(String, Vec<String>)> {
    let big_org = OrgId::generate().to_string();
    t.org(&big_org, "Big org".into(), None).await?;
    let big_admin = identities[0].clone();
    let victims: Vec<String> = identities[1..=sizes.victims].to_vec();
    let everyone: Vec<&String> = std::iter::once(&big_admin).chain(victims.iter()).collect();
    for (i, m) in everyone.iter().enumerate() {
        let role = if i == 0 { "ADMIN" } else { "MEMBER" };
        t.member(&big_org, m, role, t.now).await?;
    }
    let mut big_rooms = Vec::new();
    for r in 0..sizes.victim_rooms {
        let room = RoomId::generate().to_string();
        t.room(&room, &big_org, format!("Big room {r}")).await?;
        t.room_members(&room, &big_org, &everyone).await?;
        big_rooms.push(room);
    }
    for v in &victims {
        for a in 0..sizes.victim_assignments {
            let room = &big_rooms[a % big_rooms.len()];
            t.assignment(&big_org, room, format!("Victim task {a}"), v)
                .await?;
        }
    }
    Ok((big_org, victims))
}

/// The sweep: ten guest organizations with a one-day inactivity rule;
/// `guests` guest memberships, `idle_guests` of them idle for a week.
/// Each has an ADMIN as well (an organization is created with one), an
/// identity that is none of its guests.
async fn seed_guest_orgs(t: &mut Tables<'_>, sizes: &Sizes, identities: &[String]) -> Result<()> {
    let day = 24 * 3600 * 1000i64;
    let guest_orgs: Vec<String> = (0..10).map(|_| OrgId::generate().to_string()).collect();
    for (i, g) in guest_orgs.iter().enumerate() {
        t.org(g, format!("Guests {i}"), Some(day)).await?;
    }
    let per_guest_org = sizes.guests / guest_orgs.len();
    let idle_per_org = sizes.idle_guests / guest_orgs.len();
    let admin = identities
        .get(per_guest_org..)
        .and_then(|rest| rest.last())
        .context("more guests per organization than identities")?;
    let now = t.now;
    for g in &guest_orgs {
        t.member(g, admin, "ADMIN", now).await?;
        for (i, m) in identities.iter().take(per_guest_org).enumerate() {
            let last = if i < idle_per_org { now - 7 * day } else { now };
            t.member(g, m, "GUEST", last).await?;
        }
    }
    Ok(())
}

/// Settles the bulk load the way a long-running database would be:
/// statistics and visibility maps on PostgreSQL, a checkpointed WAL on
/// both (so the checkpointer is not flushing the load while the hot paths
/// are measured).
async fn settle(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await?;
        // Needs superuser or pg_checkpoint; without it the load settles
        // on PostgreSQL's own schedule.
        if let Err(e) = db.execute_unprepared("CHECKPOINT").await {
            eprintln!("  (CHECKPOINT not allowed, continuing: {e})");
        }
    } else {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}

/// `sizes.sessions` sessions of `credential` (in `package`) inserted
/// directly (no argon2), spread over the seeded identities; returns their
/// tokens. Not checked by SQL afterwards: reading the new rows there
/// would set PostgreSQL's hint bits on them before the scenario instead of
/// during it, and change what it measures.
pub async fn seed_sessions(
    url: &str,
    seeded: &Seeded,
    package: &str,
    credential: &str,
    sizes: &Sizes,
) -> Result<Vec<String>> {
    let db = roster::store::connect(url, 2).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut ins = Inserter::new(
        &db,
        "sessions",
        &[
            "token_hash",
            "session_id",
            "identity_id",
            "package_id",
            "credential_id",
            "created_at",
            "expires_at",
        ],
    );
    let mut tokens = Vec::with_capacity(sizes.sessions);
    for i in 0..sizes.sessions {
        let token = secrets::new_session_token();
        ins.push(vec![
            secrets::token_hash(&token).into(),
            SessionId::generate().to_string().into(),
            seeded.identities[i % seeded.identities.len()]
                .clone()
                .into(),
            package.to_owned().into(),
            credential.into(),
            now.into(),
            (now + 86_400_000).into(),
        ])
        .await?;
        tokens.push(token);
    }
    ins.flush().await?;
    Ok(tokens)
}
