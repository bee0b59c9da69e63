//! The rules of the seeds, free of transport and storage: identifiers,
//! states, the error type, the decisions (`policy`: access, profiles,
//! seats, offboarding), scheduled changes, input validation and secret
//! handling.

pub mod error;
pub mod ids;
pub mod model;
pub mod paging;
pub mod policy;
pub mod schedule;
pub mod scim;
pub mod secrets;
pub mod validate;

pub use error::{Error, FieldViolation, Reason, Result};
pub use ids::{
    AssignmentId, CredentialId, IdentityId, OrgId, PackageId, RoomId, ScheduledChangeId,
    ScimTokenId, SessionId,
};
pub use model::*;
pub use paging::{Page, PageRequest};
pub use schedule::{ScheduledAction, ScheduledChange, ScheduledChangeState};
pub use scim::{
    NewScimUser, ScimGroup, ScimGroupChange, ScimToken, ScimUser, ScimUserChange, ScimUserFilter,
};
