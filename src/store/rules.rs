//! The SQL fragments of the rules that SQL must evaluate in bulk, each
//! named once and used by every query that needs it.

/// Joins assignments `a` to the membership `m` that holds them: the
/// assignee's current tenure (see the assignee-tenure migration). An
/// assignment without such a member is unassigned.
pub(super) const HELD_BY: &str = "m.organization_id = a.organization_id \
     AND m.identity_id = a.assignee_id AND m.tenure = a.assignee_tenure";
