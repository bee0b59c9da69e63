//! `roster.v1.LicenseService` (L1–L6).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::Ctx;
use super::authn;
use super::authz;
use super::convert::{self, opt_ts, package_id, ts};
use crate::domain::validate::{self, Violations};
use crate::domain::{self, Error, IdentityId, PageRequest, Principal, Reason, secrets};
use crate::pb;
use crate::store::{NewPackage, PackageUpdate};

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

impl From<domain::AttachMethod> for pb::AttachMethod {
    fn from(m: domain::AttachMethod) -> Self {
        match m {
            domain::AttachMethod::SignIn => pb::AttachMethod::SignIn,
            domain::AttachMethod::Membership => pb::AttachMethod::Membership,
        }
    }
}

impl From<domain::ActiveUser> for pb::ActiveUser {
    fn from(u: domain::ActiveUser) -> Self {
        pb::ActiveUser {
            identity_id: u.identity_id.to_string(),
            package_id: u.package_id.to_string(),
            attach_time: ts(u.attached_at),
            attach_method: pb::AttachMethod::from(u.method) as i32,
            signed_in: u.signed_in,
            credential_id: u.credential_id.map(|c| c.to_string()).unwrap_or_default(),
            last_seen_time: opt_ts(u.last_seen_at),
        }
    }
}

/// Reads `page_size` / `page_token` of a list whose keys `key_ok` accepts;
/// a token holding any other key was not issued by this list.
fn list_page(
    v: &mut Violations,
    page_size: i32,
    token: &str,
    key_ok: impl Fn(&str) -> bool,
) -> PageRequest {
    let page = convert::page_request(v, page_size, token);
    if page.after.as_deref().is_some_and(|k| !key_ok(k)) {
        v.add("page_token", "is not a page token of this list");
    }
    page
}

/// Validates a list of admin identity IDs (1..=100, deduplicated).
pub fn admin_ids(v: &mut Violations, field: &str, raw: &[String]) -> Vec<IdentityId> {
    if raw.is_empty() {
        v.add(field, "must name at least one administrator");
    }
    admin_ids_allow_empty(v, field, raw)
}

/// Like [`admin_ids`] but an empty list passes (UpdateLicensePackage
/// refuses it as FAILED_PRECONDITION NO_PACKAGE_ADMIN).
fn admin_ids_allow_empty(v: &mut Violations, field: &str, raw: &[String]) -> Vec<IdentityId> {
    if raw.len() > MAX_ADMINS {
        v.add(
            field,
            format!("must name at most {MAX_ADMINS} administrators"),
        );
        return Vec::new();
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
        let principal = authn::principal(&request)?;
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
        let principal = authn::principal(&request)?;
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
        let principal = authn::principal(&request)?;
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
        let hash = self
            .ctx
            .hash(move |cost| secrets::hash_password(cost, &to_hash))
            .await??;
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

    async fn update_license_package(
        &self,
        request: Request<pb::UpdateLicensePackageRequest>,
    ) -> Result<Response<pb::LicensePackage>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let Some(p) = req.license_package else {
            return Err(Error::invalid("license_package", "is required").into());
        };
        let id = v.id(
            "license_package.package_id",
            domain::PackageId::parse(&p.package_id),
        );
        let paths = req.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            v.add(
                "update_mask",
                "must name the fields to change: display_name, admin_identity_ids, plan, seat_limit",
            );
        }
        let mut update = PackageUpdate::default();
        for (i, path) in validate::mask_paths(&mut v, &paths) {
            match path {
                "display_name" => {
                    update.display_name = Some(validate::display_name(
                        &mut v,
                        "license_package.display_name",
                        &p.display_name,
                        100,
                    ));
                }
                "admin_identity_ids" => {
                    update.admins = Some(admin_ids_allow_empty(
                        &mut v,
                        "license_package.admin_identity_ids",
                        &p.admin_identity_ids,
                    ));
                }
                "plan" => {
                    update.plan = convert::required_enum(
                        &mut v,
                        "license_package.plan",
                        p.plan,
                        convert::plan_from_pb,
                    );
                }
                "seat_limit" => {
                    seat_limit(&mut v, "license_package.seat_limit", p.seat_limit);
                    update.seat_limit = Some(p.seat_limit);
                }
                _ => v.add(
                    format!("update_mask.paths[{i}]"),
                    "is not an updatable field (display_name, admin_identity_ids, plan, \
                     seat_limit)",
                ),
            }
        }
        v.finish()?;
        let id = id.ok_or_else(|| Error::invalid("license_package.package_id", "is required"))?;
        authz::require_package_admin(&self.ctx, &principal, &id).await?;
        if (update.plan.is_some() || update.seat_limit.is_some()) && !principal.is_service() {
            return Err(Error::denied(
                Reason::NotAuthorized,
                "plan and seat_limit can only be changed with a service key",
            )
            .into());
        }
        let updated = self
            .ctx
            .store
            .update_license_package(principal.actor(), &id, update)
            .await?;
        Ok(Response::new(updated.into()))
    }

    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let package = v.id("package_id", domain::PackageId::parse(&req.package_id));
        let page = list_page(&mut v, req.page_size, &req.page_token, |k| {
            domain::CredentialId::parse(k).is_ok()
        });
        v.finish()?;
        let package = package.ok_or_else(|| Error::invalid("package_id", "is required"))?;
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        let page = self.ctx.store.list_credentials(&package, &page).await?;
        Ok(Response::new(pb::ListCredentialsResponse {
            credentials: page.items.into_iter().map(Into::into).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn delete_credential(
        &self,
        request: Request<pb::DeleteCredentialRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = authn::principal(&request)?;
        let id = convert::credential_id("credential_id", &request.get_ref().credential_id)?;
        let package = self.ctx.store.credential_package(&id).await?;
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        self.ctx
            .store
            .delete_credential(principal.actor(), &id)
            .await?;
        Ok(Response::new(()))
    }

    async fn list_active_users(
        &self,
        request: Request<pb::ListActiveUsersRequest>,
    ) -> Result<Response<pb::ListActiveUsersResponse>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let package = v.id("package_id", domain::PackageId::parse(&req.package_id));
        let page = list_page(&mut v, req.page_size, &req.page_token, |k| {
            IdentityId::parse(k).is_ok()
        });
        v.finish()?;
        let package = package.ok_or_else(|| Error::invalid("package_id", "is required"))?;
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        let page = self.ctx.store.list_active_users(&package, &page).await?;
        Ok(Response::new(pb::ListActiveUsersResponse {
            active_users: page.items.into_iter().map(Into::into).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn detach_identity(
        &self,
        request: Request<pb::DetachIdentityRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let package = v.id("package_id", domain::PackageId::parse(&req.package_id));
        let identity = v.id("identity_id", IdentityId::parse(&req.identity_id));
        v.finish()?;
        let (Some(package), Some(identity)) = (package, identity) else {
            return Err(Error::invalid("package_id", "is required").into());
        };
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        self.ctx
            .store
            .detach_identity(principal.actor(), &package, &identity)
            .await?;
        Ok(Response::new(()))
    }

    async fn check_internal_contacts(
        &self,
        request: Request<pb::CheckInternalContactsRequest>,
    ) -> Result<Response<pb::CheckInternalContactsResponse>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let pairs_to_check = if validate::batch_len(&mut v, "pairs", req.pairs.len()) {
            &req.pairs[..]
        } else {
            &[]
        };
        let mut pairs = Vec::with_capacity(pairs_to_check.len());
        for (i, pair) in pairs_to_check.iter().enumerate() {
            let first = v.id(
                &format!("pairs[{i}].first_identity_id"),
                IdentityId::parse(&pair.first_identity_id),
            );
            let second = v.id(
                &format!("pairs[{i}].second_identity_id"),
                IdentityId::parse(&pair.second_identity_id),
            );
            if let (Some(first), Some(second)) = (first, second) {
                pairs.push((first, second));
            }
        }
        v.finish()?;
        if let Principal::Identity { identity_id, .. } = &principal
            && let Some(i) = pairs
                .iter()
                .position(|(a, b)| a != identity_id && b != identity_id)
        {
            return Err(Error::denied(
                Reason::NotAuthorized,
                format!(
                    "a session may only check pairs that include its own identity (pairs[{i}])"
                ),
            )
            .into());
        }
        let ids: Vec<IdentityId> = pairs
            .iter()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        let attached = self.ctx.store.attached_packages_of(&ids).await?;
        let results = pairs
            .into_iter()
            .map(|(a, b)| {
                let internal = match (attached.get(a.as_str()), attached.get(b.as_str())) {
                    (Some(pa), Some(pb_)) => !pa.is_disjoint(pb_),
                    _ => false,
                };
                pb::InternalContactResult {
                    pair: Some(pb::IdentityPair {
                        first_identity_id: a.to_string(),
                        second_identity_id: b.to_string(),
                    }),
                    internal,
                }
            })
            .collect();
        Ok(Response::new(pb::CheckInternalContactsResponse { results }))
    }

    async fn get_seat_usage(
        &self,
        request: Request<pb::GetSeatUsageRequest>,
    ) -> Result<Response<pb::SeatUsage>, Status> {
        let principal = authn::principal(&request)?;
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
