//! SCIM 2.0 provisioning (issue 15): provisioning tokens, and Users =
//! members of an organization with the SCIM attributes kept beside the
//! membership (`scim_users`, keyed by organization and identity; userName
//! and externalId unique per organization).
//!
//! Every SCIM change is one write with its events, and runs the very
//! steps of the gRPC calls: AddMember's (`insert_member`, `seats::attach`),
//! DeactivateMember's and RemoveMember's (`plan_for_provisioning`, the
//! guard of `plan_and_guard` under provisioning's policy,
//! `apply_deactivation`, `apply_removal`), ReactivateMember's
//! (`apply_reactivation`). Before an offboarding, rooms that would lose
//! their last active admin are handed to the organization's other active
//! admins (reason PROVISIONING); with none, the offboarding goes ahead
//! and LEFT_WITHOUT_ADMIN names what was left without an admin, so an
//! IdP's automated offboarding is never refused by M2/M7 (it would retry
//! forever).

mod groups;
mod tokens;
mod users;

use super::Txn;
use super::records::member_event;
use super::room_guard::{hand_over_rooms, orphaned_rooms};
use crate::domain::policy::LeftWithoutAdmin;
use crate::domain::{Error, EventType, IdentityId, OrgId, Reason, Result, RoomId};

fn external_id_taken(external_id: &str) -> Error {
    Error::already_exists(
        Reason::UsernameTaken,
        format!("externalId {external_id:?} is already used by another user of this organization"),
    )
}

/// Provisioning's successor policy (M7): the rooms `identity` would leave
/// without an active admin get every other ACTIVE ADMIN of `org` as room
/// admin (reason PROVISIONING, one event per room and admin). With no
/// other active admin nothing is handed over (the offboarding then goes
/// ahead with LEFT_WITHOUT_ADMIN).
async fn hand_rooms_to_org_admins(txn: &mut Txn, org: &OrgId, identity: &IdentityId) -> Result<()> {
    let rooms = orphaned_rooms(txn.conn(), org, identity, None).await?;
    if rooms.is_empty() {
        return Ok(());
    }
    let admins = org_admins(txn, org, Some(identity)).await?;
    for admin in &admins {
        hand_over_rooms(txn, org, admin, &rooms, "PROVISIONING").await?;
    }
    Ok(())
}

/// The other ACTIVE ADMINs of `org` (all of them when `except` is None).
async fn org_admins(
    txn: &Txn,
    org: &OrgId,
    except: Option<&IdentityId>,
) -> Result<Vec<IdentityId>> {
    txn.query_all(
        "SELECT identity_id FROM members WHERE organization_id = ? AND role = 'ADMIN' \
         AND state = 'ACTIVE' AND identity_id <> ? ORDER BY identity_id",
        vec![
            org.as_str().into(),
            except.map_or("", IdentityId::as_str).into(),
        ],
    )
    .await?
    .iter()
    .map(|r| Ok(IdentityId::from_trusted(r.try_get("", "identity_id")?)))
    .collect()
}

/// LEFT_WITHOUT_ADMIN when an automated offboarding of `identity` left
/// rooms (or the organization) without an admin; nothing otherwise.
fn report_left_without_admin(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
    left: &LeftWithoutAdmin,
) {
    if left.rooms.is_empty() && !left.organization {
        return;
    }
    let listed: Vec<&str> = left
        .rooms
        .iter()
        .take(crate::domain::policy::MAX_ROOM_IDS_IN_ERROR)
        .map(RoomId::as_str)
        .collect();
    txn.emit(
        member_event(EventType::LeftWithoutAdmin, org, identity)
            .reason("PROVISIONING")
            .attr("room_ids", listed.join(","))
            .attr("room_count", left.rooms.len().to_string())
            .attr("organization_without_admin", left.organization.to_string()),
    );
}
