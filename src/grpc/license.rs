//! `roster.v1.LicenseService` (L1–L6).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::Ctx;
use super::authz;
use super::convert::{self, package_id, ts};
use crate::domain::validate::{self, Violations};
use crate::domain::{self, Error, IdentityId, secrets};
use crate::pb;
use crate::store::NewPackage;

/// Implementation of `LicenseService`.
#[derive(Debug, Clone)]
pub struct LicenseApi {
    ctx: Arc<Ctx>,
}

impl LicenseApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        LicenseApi { ctx }
    }
}

/// Largest seat limit a package may have.
pub const MAX_SEATS: i32 = 1_000_000;
/// Most administrators a package may have.
pub const MAX_ADMINS: usize = 100;

impl From<domain::LicensePackage> for pb::LicensePackage {
    fn from(p: domain::LicensePackage) -> Self {
        pb::LicensePackage {
            package_id: p.id.to_string(),
            display_name: p.display_name,
            plan: pb::Plan::from(p.plan) as i32,
            seat_limit: p.seat_limit,
            admin_identity_ids: p.admins.into_iter().map(|a| a.to_string()).collect(),
            create_time: ts(p.created_at),
            update_time: ts(p.updated_at),
        }
    }
}

impl From<domain::Credential> for pb::Credential {
    fn from(c: domain::Credential) -> Self {
        pb::Credential {
            credential_id: c.id.to_string(),
            package_id: c.package_id.to_string(),
            username: c.username,
            create_time: ts(c.created_at),
        }
    }
}

/// Validates a list of admin identity IDs (1..=100, deduplicated).
pub fn admin_ids(v: &mut Violations, field: &str, raw: &[String]) -> Vec<IdentityId> {
    if raw.is_empty() {
        v.add(field, "must name at least one administrator");
    } else if raw.len() > MAX_ADMINS {
        v.add(
            field,
            format!("must name at most {MAX_ADMINS} administrators"),
        );
    }
    let mut ids: Vec<IdentityId> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, s)| v.id(&format!("{field}[{i}]"), IdentityId::parse(s)))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Validates a seat limit.
pub fn seat_limit(v: &mut Violations, field: &str, raw: i32) {
    if !(1..=MAX_SEATS).contains(&raw) {
        v.add(field, format!("must be 1 to {MAX_SEATS}"));
    }
}

#[tonic::async_trait]
impl pb::license_service_server::LicenseService for LicenseApi {
    async fn create_license_package(
        &self,
        request: Request<pb::CreateLicensePackageRequest>,
    ) -> Result<Response<pb::LicensePackage>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let Some(p) = req.license_package else {
            return Err(Error::invalid("license_package", "is required").into());
        };
        let display_name =
            validate::display_name(&mut v, "license_package.display_name", &p.display_name, 100);
        let plan = convert::required_enum(
            &mut v,
            "license_package.plan",
            p.plan,
            convert::plan_from_pb,
        );
        seat_limit(&mut v, "license_package.seat_limit", p.seat_limit);
        let admins = admin_ids(
            &mut v,
            "license_package.admin_identity_ids",
            &p.admin_identity_ids,
        );
        v.finish()?;
        authz::require_service(&principal)?;
        let created = self
            .ctx
            .store
            .create_license_package(
                principal.actor(),
                NewPackage {
                    display_name,
                    plan: plan
                        .ok_or_else(|| Error::invalid("license_package.plan", "is required"))?,
                    seat_limit: p.seat_limit,
                    admins,
                },
            )
            .await?;
        Ok(Response::new(created.into()))
    }

    async fn get_license_package(
        &self,
        request: Request<pb::GetLicensePackageRequest>,
    ) -> Result<Response<pb::LicensePackage>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let id = package_id("package_id", &request.get_ref().package_id)?;
        authz::require_package_admin(&self.ctx, &principal, &id).await?;
        Ok(Response::new(
            self.ctx.store.get_license_package(&id).await?.into(),
        ))
    }

    async fn issue_credential(
        &self,
        request: Request<pb::IssueCredentialRequest>,
    ) -> Result<Response<pb::IssueCredentialResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let package = v.id("package_id", domain::PackageId::parse(&req.package_id));
        validate::username(&mut v, "username", &req.username);
        if !req.password.is_empty() {
            validate::password(&mut v, "password", &req.password, 12, 128);
        }
        v.finish()?;
        let package = package.ok_or_else(|| Error::invalid("package_id", "is required"))?;
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        let password = if req.password.is_empty() {
            secrets::new_password()
        } else {
            req.password
        };
        let to_hash = password.clone();
        let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&to_hash))
            .await
            .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))??;
        let credential = self
            .ctx
            .store
            .issue_credential(principal.actor(), &package, &req.username, hash)
            .await?;
        Ok(Response::new(pb::IssueCredentialResponse {
            credential: Some(credential.into()),
            password,
        }))
    }

    async fn get_seat_usage(
        &self,
        request: Request<pb::GetSeatUsageRequest>,
    ) -> Result<Response<pb::SeatUsage>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let id = package_id("package_id", &request.get_ref().package_id)?;
        authz::require_package_admin(&self.ctx, &principal, &id).await?;
        let usage = self.ctx.store.seat_usage(&id).await?;
        Ok(Response::new(pb::SeatUsage {
            package_id: id.to_string(),
            seat_limit: usage.limit,
            used: usage.used,
            free: (usage.limit - usage.used).max(0),
        }))
    }
}
