//! W4 and W2 at size, one call each: BatchAddMembers and
//! BatchRemoveMembers of 1,000 members (each in 10 rooms with one
//! assignment; removal atomic and per item), and OffboardIdentity of one
//! identity from 10 sub-organizations of 1,000 rooms each. The members
//! join through the API; rooms, room memberships and assignments are
//! inserted directly (as the seed does).

use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use roster::domain::{AssignmentId, RoomId};
use roster::pb;
use sea_orm::DatabaseConnection;
use tonic::transport::Channel;

use crate::Ctx;
use crate::SERVICE_KEY;
use crate::report::{Row, stats};
use crate::seed::{Inserter, Seeded};
use crate::server::{identity_client, membership_client};

/// Members of one batch.
const BATCH: usize = 1_000;
/// Rooms each batch member is in (one assignment each).
const BATCH_ROOMS: usize = 10;
/// OffboardIdentity: sub-organizations and rooms in each.
const SUBS: usize = 10;
const SUB_ROOMS: usize = 1_000;

async fn new_identity(ch: &Channel, name: &str) -> Result<String> {
    Ok(identity_client(ch, SERVICE_KEY)
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: name.into(),
                ..Default::default()
            }),
        })
        .await
        .context("CreateIdentity")?
        .into_inner()
        .identity_id)
}

async fn new_org(ch: &Channel, package: &str, parent: &str, admin: &str) -> Result<String> {
    Ok(membership_client(ch)
        .create_organization(pb::CreateOrganizationRequest {
            request_id: String::new(),
            organization: Some(pb::Organization {
                display_name: "Bench batch org".into(),
                package_id: if parent.is_empty() {
                    package.to_owned()
                } else {
                    String::new()
                },
                parent_organization_id: parent.to_owned(),
                ..Default::default()
            }),
            admin_identity_id: admin.to_owned(),
        })
        .await
        .context("CreateOrganization")?
        .into_inner()
        .organization_id)
}

/// `rooms` rooms in `org`, `admin` room ADMIN and `members` room members
/// of each, one assignment per (member, room), held under the member's
/// current tenure.
async fn seed_rooms(
    db: &DatabaseConnection,
    org: &str,
    admin: &str,
    members: &[String],
    rooms: usize,
) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let tenures: std::collections::HashMap<String, i64> = sea_orm::ConnectionTrait::query_all_raw(
        db,
        roster::store::statement(
            backend,
            "SELECT identity_id, tenure FROM members WHERE organization_id = ?",
            vec![org.into()],
        ),
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("", "identity_id")?, r.try_get("", "tenure")?)))
    .collect::<Result<_, sea_orm::DbErr>>()?;
    let mut room_rows = Inserter::new(
        db,
        "rooms",
        &["id", "organization_id", "display_name", "created_at"],
    );
    let mut rm = Inserter::new(
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
    let mut asg = Inserter::new(
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
    for r in 0..rooms {
        let room = RoomId::generate().to_string();
        room_rows
            .push(vec![
                room.clone().into(),
                org.into(),
                format!("Batch room {r}").into(),
                now.into(),
            ])
            .await?;
        let everyone =
            std::iter::once((admin, "ADMIN")).chain(members.iter().map(|m| (m.as_str(), "MEMBER")));
        for (who, role) in everyone {
            rm.push(vec![
                room.clone().into(),
                who.into(),
                org.into(),
                role.into(),
                true.into(),
                now.into(),
            ])
            .await?;
        }
        for m in members {
            let tenure = *tenures.get(m).context("member without tenure")?;
            asg.push(vec![
                AssignmentId::generate().to_string().into(),
                org.into(),
                room.clone().into(),
                "TASK".into(),
                "Batch task".into(),
                now.into(),
                m.as_str().into(),
                tenure.into(),
            ])
            .await?;
        }
    }
    room_rows.flush().await?;
    rm.flush().await?;
    asg.flush().await?;
    Ok(())
}

/// The rows: BatchAddMembers (1,000), BatchRemoveMembers (1,000, atomic
/// and per item), OffboardIdentity (10 sub-organizations × 1,000 rooms).
pub async fn batch_rows(
    ctx: &Ctx<'_>,
    ch: &Channel,
    url: &str,
    package: &str,
    seeded: &Seeded,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let db = roster::store::connect(url, 2).await?;
    let admin = new_identity(ch, "Batch admin").await?;
    let org = new_org(ch, package, "", &admin).await?;
    let pool: Vec<&String> = seeded.identities.iter().rev().collect();
    if pool.len() < 2 * BATCH {
        bail!("the batch rows need {} seeded identities", 2 * BATCH);
    }
    let mut c = membership_client(ch);
    for (k, atomic) in [true, false].into_iter().enumerate() {
        let members: Vec<String> = pool[k * BATCH..(k + 1) * BATCH]
            .iter()
            .map(|s| (*s).clone())
            .collect();
        let t0 = Instant::now();
        let added = c
            .batch_add_members(pb::BatchAddMembersRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                items: members
                    .iter()
                    .map(|m| pb::AddMemberItem {
                        identity_id: m.clone(),
                        role: pb::MemberRole::Member as i32,
                    })
                    .collect(),
                atomic,
                validate_only: false,
            })
            .await
            .context("BatchAddMembers")?
            .into_inner();
        let took = t0.elapsed();
        if added.summary.map(|s| s.succeeded) != Some(BATCH as i32) {
            bail!("BatchAddMembers: {:?}", added.summary);
        }
        let mode = if atomic { "atomic" } else { "per item" };
        let s = stats(vec![took.as_micros() as u64], took);
        rows.push(Row::measured(
            format!("BatchAddMembers ({BATCH} members, {mode})"),
            ctx.label,
            &s,
            None,
        ));
        seed_rooms(&db, &org, &admin, &members, BATCH_ROOMS).await?;
        let t0 = Instant::now();
        let removed = c
            .batch_remove_members(pb::BatchRemoveMembersRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                items: members
                    .iter()
                    .map(|m| pb::RemoveMemberItem {
                        identity_id: m.clone(),
                        successor_identity_id: String::new(),
                    })
                    .collect(),
                atomic,
                validate_only: false,
            })
            .await
            .context("BatchRemoveMembers")?
            .into_inner();
        let took = t0.elapsed();
        let ok = removed.results.iter().all(|r| {
            r.removal.as_ref().is_some_and(|x| {
                x.rooms_left == BATCH_ROOMS as i32 && x.assignments_dropped == BATCH_ROOMS as i32
            })
        });
        if !ok || removed.results.len() != BATCH {
            bail!("BatchRemoveMembers: {:?}", removed.summary);
        }
        let s = stats(vec![took.as_micros() as u64], took);
        rows.push(Row::measured(
            format!(
                "BatchRemoveMembers ({BATCH} members × {BATCH_ROOMS} rooms / {BATCH_ROOMS} assignments, {mode})"
            ),
            ctx.label,
            &s,
            None,
        ));
    }

    // OffboardIdentity: a parent and SUBS sub-organizations of SUB_ROOMS rooms.
    let leaver = new_identity(ch, "Leaver").await?;
    let parent = new_org(ch, package, "", &admin).await?;
    let mut orgs = vec![parent.clone()];
    for _ in 0..SUBS {
        orgs.push(new_org(ch, package, &parent, &admin).await?);
    }
    for o in &orgs {
        c.add_member(pb::AddMemberRequest {
            request_id: String::new(),
            organization_id: o.clone(),
            identity_id: leaver.clone(),
            role: pb::MemberRole::Member as i32,
        })
        .await
        .context("AddMember")?;
    }
    for sub in &orgs[1..] {
        seed_rooms(&db, sub, &admin, std::slice::from_ref(&leaver), SUB_ROOMS).await?;
    }
    let _ = db.close().await;
    let t0 = Instant::now();
    let done = c
        .offboard_identity(pb::OffboardIdentityRequest {
            request_id: String::new(),
            identity_id: leaver.clone(),
            package_id: package.to_owned(),
            action: pb::OffboardingAction::Remove as i32,
            successor_identity_id: String::new(),
            transfer_assignments_to: String::new(),
            validate_only: false,
        })
        .await
        .context("OffboardIdentity")?
        .into_inner();
    let took = t0.elapsed();
    let rooms_left: i32 = done.organizations.iter().map(|o| o.rooms_left).sum();
    let dropped: i32 = done
        .organizations
        .iter()
        .map(|o| o.assignments_dropped)
        .sum();
    if done.organizations.len() != SUBS + 1
        || rooms_left != (SUBS * SUB_ROOMS) as i32
        || dropped != (SUBS * SUB_ROOMS) as i32
    {
        bail!(
            "OffboardIdentity: {} organizations, {rooms_left} rooms, {dropped} assignments",
            done.organizations.len()
        );
    }
    let s = stats(vec![took.as_micros() as u64], took);
    rows.push(Row::measured(
        format!("OffboardIdentity ({SUBS} sub-organizations × {SUB_ROOMS} rooms, remove)"),
        ctx.label,
        &s,
        None,
    ));
    Ok(())
}
