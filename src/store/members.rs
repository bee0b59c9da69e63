//! Members of an organization: adding (M3), roles (M2), listing, and
//! reactivation (M5).

use sea_orm::Value;

use super::records::{
    MEMBER_COLS, ensure_other_active_admin, insert_member, load_member, lock_active_identity,
    lock_org, member_event, member_from_row, member_not_found, member_role, member_state,
    to_member,
};
use super::rows::keyset_page;
use super::{Store, Txn, seats};
use crate::domain::{
    Actor, AttachMethod, Error, EventType, IdentityId, Member, MemberRole, MemberState, OrgId,
    PackageId, Page, PageRequest, Reason, Result,
};

/// Filters of ListMembers.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberFilter {
    /// Only this state.
    pub state: Option<MemberState>,
    /// Only this role.
    pub role: Option<MemberRole>,
}

impl Store {
    /// Role and state of `identity` in `org`, when a member. One query.
    pub async fn member_standing(
        &self,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Option<(MemberRole, MemberState)>> {
        Ok(load_member(&self.db, org, identity)
            .await?
            .map(|m| (member_role(&m.role), member_state(&m.state))))
    }

    /// M2: adds an ACTIVE member, taking a seat when the identity holds none
    /// in the package. Refuses revoked identities and existing members.
    pub async fn add_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        self.write(&actor, |mut txn| async move {
            lock_active_identity(&txn, identity).await?;
            let o = lock_org(&txn, org).await?;
            if let Some(existing) = load_member(txn.conn(), org, identity).await? {
                return Err(Error::already_exists(
                    Reason::AlreadyMember,
                    format!(
                        "{identity} is already a member of organization {org} ({})",
                        existing.state
                    ),
                ));
            }
            let package = PackageId::from_trusted(o.package_id);
            let member = insert_member(&txn, org, identity, &package, role).await?;
            txn.emit(
                member_event(EventType::MemberAdded, org, identity)
                    .package(&package)
                    .attr("role", role.as_str()),
            );
            seats::attach(&mut txn, &package, identity, AttachMethod::Membership, None).await?;

            Ok((txn, member))
        })
        .await
    }

    /// M2: changes a member's role; the last active ADMIN keeps it.
    pub async fn update_member_role(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let mut m = load_member(txn.conn(), org, identity)
                .await?
                .ok_or_else(|| member_not_found(org, identity))?;
            let old = member_role(&m.role);
            if old == role {
                txn.nothing_changed();
                return Ok((txn, to_member(m)));
            }
            if old == MemberRole::Admin && m.state == MemberState::Active.as_str() {
                ensure_other_active_admin(txn.conn(), org, identity).await?;
            }
            txn.exec(
                "UPDATE members SET role = ? WHERE organization_id = ? AND identity_id = ?",
                vec![
                    role.as_str().into(),
                    org.as_str().into(),
                    identity.as_str().into(),
                ],
            )
            .await?;
            m.role = role.as_str().to_owned();
            txn.emit(
                member_event(EventType::MemberRoleUpdated, org, identity)
                    .attr("old_role", old.as_str())
                    .attr("role", role.as_str()),
            );

            Ok((txn, to_member(m)))
        })
        .await
    }

    /// M2: members ordered by identity ID, filtered by state and role.
    pub async fn list_members(
        &self,
        org: &OrgId,
        filter: MemberFilter,
        page: &PageRequest,
    ) -> Result<Page<Member>> {
        self.get_organization(org).await?;
        let mut sql = format!("SELECT {MEMBER_COLS} FROM members WHERE organization_id = ?");
        let mut values: Vec<Value> = vec![org.as_str().into()];
        if let Some(state) = filter.state {
            sql.push_str(" AND state = ?");
            values.push(state.as_str().into());
        }
        if let Some(role) = filter.role {
            sql.push_str(" AND role = ?");
            values.push(role.as_str().into());
        }
        keyset_page(
            &self.db,
            sql,
            values,
            "identity_id",
            page,
            member_from_row,
            |m| m.identity_id.to_string(),
        )
        .await
    }

    /// M5: reactivates a deactivated member (rooms and all access back),
    /// taking a seat atomically.
    pub async fn reactivate_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Member> {
        self.write(&actor, |mut txn| async move {
            // Taking the seat comes last and inserts the events.
            txn.events_with_last_statement();
            let member = apply_reactivation(&mut txn, org, identity).await?;
            Ok((txn, member))
        })
        .await
    }
}

/// M5's effect (shared by ReactivateMember and SCIM `active=true`): locks
/// the identity and the organization, reactivates the DEACTIVATED member,
/// MEMBER_REACTIVATED, takes the seat.
pub(super) async fn apply_reactivation(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<Member> {
    // Never deleted, so only revocation can make this fail; a revoked
    // identity is no member any more either (NOT_FOUND otherwise).
    lock_active_identity(txn, identity).await?;
    lock_org(txn, org).await?;
    let mut m = load_member(txn.conn(), org, identity)
        .await?
        .ok_or_else(|| member_not_found(org, identity))?;
    if m.state != MemberState::Deactivated.as_str() {
        return Err(Error::precondition(
            Reason::NotDeactivated,
            format!("{identity} is not deactivated in organization {org}"),
        ));
    }
    let now = txn.now_ms();
    let package = PackageId::from_trusted(m.package_id.clone());
    // Activity restarts now, or an idle guest would be swept again at once.
    update_member(
        txn,
        org,
        identity,
        "state = 'ACTIVE', deactivation_reason = NULL, deactivation_note = NULL, \
         expected_return_at = NULL, deactivated_at = NULL, deactivated_by = NULL, \
         last_activity_at = ?",
        vec![now.into()],
    )
    .await?;
    txn.emit(member_event(EventType::MemberReactivated, org, identity).package(&package));
    seats::attach(txn, &package, identity, AttachMethod::Membership, None).await?;

    m.state = MemberState::Active.as_str().to_owned();
    m.deactivation_reason = None;
    m.deactivation_note = None;
    m.expected_return_at = None;
    m.deactivated_at = None;
    m.deactivated_by = None;
    m.last_activity_at = now;
    Ok(to_member(m))
}

/// Updates `identity`'s member row in `org` (`set`: the SET list, binding
/// `set_values`). The update must change exactly one row: the caller
/// loaded the member under the organization's lock.
pub(super) async fn update_member(
    txn: &Txn,
    org: &OrgId,
    identity: &IdentityId,
    set: &str,
    set_values: Vec<sea_orm::Value>,
) -> Result<()> {
    let mut values = set_values;
    values.extend([org.as_str().into(), identity.as_str().into()]);
    let sql = format!("UPDATE members SET {set} WHERE organization_id = ? AND identity_id = ?");
    match txn.exec(&sql, values).await? {
        1 => Ok(()),
        n => Err(Error::Internal(format!(
            "member {identity} of {org} changed {n} rows instead of one"
        ))),
    }
}
