//! W3, scheduled changes: a deactivation (M4), removal (M6) or
//! OffboardIdentity (W2) to run at a future instant, and the window in
//! which one may be scheduled.

use super::ids::{IdentityId, OrgId, PackageId, ScheduledChangeId};
use super::model::{Actor, DeactivationReason, Timestamp, text_enum};
use super::policy::OffboardingAction;

/// How far ahead a change may be scheduled: 366 days (a date one year
/// ahead, leap day included).
pub const MAX_AHEAD_MS: i64 = 366 * 24 * 3600 * 1000;

text_enum!(
    /// Where a scheduled change stands.
    ScheduledChangeState {
        /// Waiting for its time.
        Pending = "PENDING",
        /// Ran and applied.
        Done = "DONE",
        /// Could no longer apply; nothing of it was applied.
        Failed = "FAILED",
        /// Cancelled before it ran.
        Cancelled = "CANCELLED",
    }
);

/// What a scheduled change does, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduledAction {
    /// DeactivateMember in `org`.
    Deactivate {
        /// The organization.
        org: OrgId,
        /// Reason code (never INACTIVITY).
        reason: DeactivationReason,
        /// Free text (may be empty).
        note: String,
        /// Planned return, ms since the epoch: the reminder's time.
        expected_return_ms: Option<i64>,
        /// Takes over rooms that would lose their last admin.
        successor: Option<IdentityId>,
    },
    /// RemoveMember in `org`.
    Remove {
        /// The organization.
        org: OrgId,
        /// Takes over rooms that would lose their last admin.
        successor: Option<IdentityId>,
    },
    /// OffboardIdentity from every organization of `package`.
    OffboardIdentity {
        /// The package.
        package: PackageId,
        /// Deactivate or remove.
        action: OffboardingAction,
        /// Takes over rooms that would lose their last admin.
        successor: Option<IdentityId>,
        /// Receives the leaver's assignments.
        transfer_to: Option<IdentityId>,
    },
}

impl ScheduledAction {
    /// Storage text of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ScheduledAction::Deactivate { .. } => "DEACTIVATE",
            ScheduledAction::Remove { .. } => "REMOVE",
            ScheduledAction::OffboardIdentity { .. } => "OFFBOARD_IDENTITY",
        }
    }

    /// The organization, for a deactivation or removal.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            ScheduledAction::Deactivate { org, .. } | ScheduledAction::Remove { org, .. } => {
                Some(org)
            }
            ScheduledAction::OffboardIdentity { .. } => None,
        }
    }
}

/// A scheduled change as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledChange {
    /// `sch_…`.
    pub id: ScheduledChangeId,
    /// The member (the leaver).
    pub identity: IdentityId,
    /// The organization's package, or OffboardIdentity's.
    pub package: PackageId,
    /// What it does.
    pub action: ScheduledAction,
    /// When it is due.
    pub run_at: Timestamp,
    /// IANA time zone name, for display.
    pub time_zone: Option<String>,
    /// Where it stands.
    pub state: ScheduledChangeState,
    /// FAILED: the refusal's reason code.
    pub failure_reason: Option<String>,
    /// FAILED: the refusal's message.
    pub failure_message: Option<String>,
    /// Who scheduled it.
    pub created_by: Actor,
    /// When it was scheduled.
    pub created_at: Timestamp,
    /// When it ran or failed.
    pub ran_at: Option<Timestamp>,
    /// Who cancelled it.
    pub cancelled_by: Option<Actor>,
    /// When it was cancelled.
    pub cancelled_at: Option<Timestamp>,
}

/// Whether `run_at_ms` may be scheduled at `now_ms`: strictly in the
/// future, at most [`MAX_AHEAD_MS`] ahead. The description of the
/// violation otherwise.
pub fn schedule_window(now_ms: i64, run_at_ms: i64) -> Option<&'static str> {
    if run_at_ms <= now_ms {
        Some("must be in the future")
    } else if run_at_ms - now_ms > MAX_AHEAD_MS {
        Some("must be at most 366 days ahead")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w3_schedule_window_is_the_future_up_to_366_days() {
        let now = 1_000_000;
        assert_eq!(schedule_window(now, now), Some("must be in the future"));
        assert_eq!(schedule_window(now, now - 1), Some("must be in the future"));
        assert_eq!(schedule_window(now, now + 1), None);
        assert_eq!(schedule_window(now, now + MAX_AHEAD_MS), None);
        assert_eq!(
            schedule_window(now, now + MAX_AHEAD_MS + 1),
            Some("must be at most 366 days ahead")
        );
    }

    #[test]
    fn w3_states_round_trip() {
        for s in [
            ScheduledChangeState::Pending,
            ScheduledChangeState::Done,
            ScheduledChangeState::Failed,
            ScheduledChangeState::Cancelled,
        ] {
            assert_eq!(ScheduledChangeState::from_db(s.as_str()), Some(s));
        }
    }
}
