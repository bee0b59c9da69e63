//! The SQL fragments of the rules that SQL must evaluate in bulk, each
//! named once and used by every query that needs it.

/// Joins assignments `a` to the membership `m` that holds them: the
/// assignee's current tenure (see the assignee-tenure migration). An
/// assignment without such a member is unassigned.
pub(super) const HELD_BY: &str = "m.organization_id = a.organization_id \
     AND m.identity_id = a.assignee_id AND m.tenure = a.assignee_tenure";

/// M12, the idle guest: an ACTIVE GUEST member (`members` row aliased
/// `member`) of an organization (aliased `org`) with a guest inactivity
/// limit, idle for longer than it. Binds one value: the current time in
/// milliseconds. Used by the sweep, its dry run and its selection.
pub(super) fn idle_guest(member: &str, org: &str) -> String {
    format!(
        "{member}.role = 'GUEST' AND {member}.state = 'ACTIVE' \
         AND {org}.guest_inactivity_ms IS NOT NULL \
         AND {member}.last_activity_at < ? - {org}.guest_inactivity_ms"
    )
}

/// L6, a membership that holds a seat: ACTIVE in an organization bound to
/// the package (the enterprise rule; [`crate::domain::policy::seat_held`]
/// decides the same for one identity; on PostgreSQL the seat statements
/// read it through `roster_seat_held`, migration 13, which must say the
/// same). `member` is the `members` alias;
/// binds one value: the package ID.
pub(super) fn seat_holding_membership(member: &str) -> String {
    format!("{member}.package_id = ? AND {member}.state = 'ACTIVE'")
}
