//! The one mapping from domain errors to gRPC statuses. Refusals carry a
//! `google.rpc.ErrorInfo` (domain `roster.dev`) with a stable reason code;
//! bad input carries `google.rpc.BadRequest` field violations. Internal
//! failures are logged here and answered without internals.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{Error, Reason};

/// `ErrorInfo.domain` of every Roster error.
pub const ERROR_DOMAIN: &str = "roster.dev";

fn with_info(
    code: Code,
    message: String,
    reason: Reason,
    metadata: HashMap<String, String>,
) -> Status {
    let details = ErrorDetails::with_error_info(reason.as_str(), ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                details.set_error_info(
                    Reason::InvalidArgument.as_str(),
                    ERROR_DOMAIN,
                    HashMap::new(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::Unauthenticated { reason, .. } => {
                with_info(Code::Unauthenticated, message, reason, HashMap::new())
            }
            Error::PermissionDenied { reason, .. } => {
                with_info(Code::PermissionDenied, message, reason, HashMap::new())
            }
            Error::NotFound { reason, .. } => {
                with_info(Code::NotFound, message, reason, HashMap::new())
            }
            Error::AlreadyExists { reason, .. } => {
                with_info(Code::AlreadyExists, message, reason, HashMap::new())
            }
            Error::FailedPrecondition {
                reason, metadata, ..
            } => with_info(
                Code::FailedPrecondition,
                message,
                reason,
                metadata
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
            Error::ResourceExhausted { reason, .. } => {
                with_info(Code::ResourceExhausted, message, reason, HashMap::new())
            }
            Error::OutOfRange { reason, .. } => {
                with_info(Code::OutOfRange, message, reason, HashMap::new())
            }
            Error::Aborted(_) => with_info(
                Code::Aborted,
                "a concurrent change got in the way; retry".to_owned(),
                Reason::Conflict,
                HashMap::new(),
            ),
            Error::Unavailable(detail) => {
                tracing::error!(%detail, "dependency unavailable");
                with_info(
                    Code::Unavailable,
                    "the database is unavailable; retry later".to_owned(),
                    Reason::Internal,
                    HashMap::new(),
                )
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                with_info(
                    Code::Internal,
                    "internal error".to_owned(),
                    Reason::Internal,
                    HashMap::new(),
                )
            }
        }
    }
}
