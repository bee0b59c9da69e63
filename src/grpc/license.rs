//! `roster.v1.LicenseService`.

use std::sync::Arc;

use super::Ctx;
use crate::pb;

/// Implementation of `LicenseService`.
#[derive(Debug, Clone)]
pub struct LicenseApi {
    #[allow(dead_code)]
    ctx: Arc<Ctx>,
}

impl LicenseApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        LicenseApi { ctx }
    }
}

#[tonic::async_trait]
impl pb::license_service_server::LicenseService for LicenseApi {}
