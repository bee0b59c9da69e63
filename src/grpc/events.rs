//! `roster.v1.EventService`.

use std::sync::Arc;

use super::Ctx;
use crate::pb;

/// Implementation of `EventService`.
#[derive(Debug, Clone)]
pub struct EventApi {
    #[allow(dead_code)]
    ctx: Arc<Ctx>,
}

impl EventApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        EventApi { ctx }
    }
}

#[tonic::async_trait]
impl pb::event_service_server::EventService for EventApi {}
