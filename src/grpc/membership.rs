//! `roster.v1.MembershipService`.

use std::sync::Arc;

use super::Ctx;
use crate::pb;

/// Implementation of `MembershipService`.
#[derive(Debug, Clone)]
pub struct MembershipApi {
    #[allow(dead_code)]
    ctx: Arc<Ctx>,
}

impl MembershipApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        MembershipApi { ctx }
    }
}

#[tonic::async_trait]
impl pb::membership_service_server::MembershipService for MembershipApi {}
