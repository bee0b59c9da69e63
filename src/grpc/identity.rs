//! `roster.v1.IdentityService` (I1–I7).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::Ctx;
use super::authn;
use super::authz;
use super::convert::identity_id;
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, IdentityId, IdentityState, NewIdentity, Principal, Reason, secrets};
use crate::pb;
use crate::store::{Revoker, SessionLookup, SignInCredential};

/// Implementation of `IdentityService`.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    ctx: Arc<Ctx>,
}

impl IdentityApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        IdentityApi { ctx }
    }

    /// After a successful sign-in with a credential whose hash was made at
    /// another argon2 cost than the configured one (`--argon2-*`): hashes
    /// the password again at the configured cost and stores it, in the
    /// background (the caller does not wait for the extra hash).
    fn rehash_if_outdated(&self, credential: SignInCredential, password: String) {
        let cost = self.ctx.config.hash_cost;
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let rehashed = async {
                let new_hash = ctx
                    .hash(move |cost| secrets::hash_password(cost, &password))
                    .await??;
                ctx.store
                    .rehash_credential(&credential.id, &credential.password_hash, new_hash)
                    .await
            };
            match rehashed.await {
                Ok(true) => {
                    tracing::info!(credential = %credential.id, %cost, "password rehashed at the configured cost")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(credential = %credential.id, error = %e, "cannot rehash a password")
                }
            }
        });
    }
}

#[tonic::async_trait]
impl pb::identity_service_server::IdentityService for IdentityApi {
    async fn create_identity(
        &self,
        request: Request<pb::CreateIdentityRequest>,
    ) -> Result<Response<pb::Identity>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let Some(identity) = req.identity else {
            v.add("identity", "is required");
            return Err(v.finish().unwrap_err().into());
        };
        let new = NewIdentity {
            display_name: validate::display_name(
                &mut v,
                "identity.display_name",
                &identity.display_name,
                100,
            ),
            email: validate::email(&mut v, "identity.email", &identity.email),
            avatar_url: validate::url(&mut v, "identity.avatar_url", &identity.avatar_url),
        };
        v.finish()?;
        authz::require_service(&principal)?;
        let created = self
            .ctx
            .store
            .create_identity(principal.actor(), new)
            .await?;
        Ok(Response::new(created.into()))
    }

    async fn get_identity(
        &self,
        request: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::Identity>, Status> {
        authn::principal(&request)?;
        let id = identity_id("identity_id", &request.get_ref().identity_id)?;
        let identity = self.ctx.store.get_identity(&id).await?;
        Ok(Response::new(identity.into()))
    }

    async fn batch_get_identities(
        &self,
        request: Request<pb::BatchGetIdentitiesRequest>,
    ) -> Result<Response<pb::BatchGetIdentitiesResponse>, Status> {
        authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let ids: Vec<IdentityId> =
            validate::batch_ids(&mut v, "identity_ids", &req.identity_ids, IdentityId::parse);
        v.finish()?;
        let found = self.ctx.store.batch_get_identities(&ids).await?;
        let results = ids
            .into_iter()
            .filter_map(|id| match found.get(id.as_str()) {
                Some(identity) if req.hide_inactive && identity.state == IdentityState::Revoked => {
                    None
                }
                Some(identity) => Some(pb::IdentityLookup {
                    identity_id: id.to_string(),
                    found: true,
                    identity: Some(identity.clone().into()),
                }),
                None => Some(pb::IdentityLookup {
                    identity_id: id.to_string(),
                    found: false,
                    identity: None,
                }),
            })
            .collect();
        Ok(Response::new(pb::BatchGetIdentitiesResponse { results }))
    }

    async fn set_revocation_password(
        &self,
        request: Request<pb::SetRevocationPasswordRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        validate::password(&mut v, "password", &req.password, 8, 128);
        v.finish()?;
        let id = id.ok_or_else(|| Error::invalid("identity_id", "is required"))?;
        authz::require_self(&principal, &id)?;
        let password = req.password;
        let hash = self
            .ctx
            .hash(move |cost| secrets::hash_password(cost, &password))
            .await??;
        self.ctx
            .store
            .set_revocation_password(principal.actor(), &id, hash)
            .await?;
        Ok(Response::new(()))
    }

    async fn revoke_identity(
        &self,
        request: Request<pb::RevokeIdentityRequest>,
    ) -> Result<Response<pb::Identity>, Status> {
        let principal = authn::principal(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let package = v.optional_id(
            "package_id",
            &req.package_id,
            crate::domain::PackageId::parse,
        );
        if req.revocation_password.chars().count() > 128 {
            v.add("revocation_password", "must be at most 128 characters");
        }
        v.finish()?;
        let id = id.ok_or_else(|| Error::invalid("identity_id", "is required"))?;

        let revoker = match &principal {
            Principal::Identity { identity_id, .. } if *identity_id == id => {
                let (state, hash) = self.ctx.store.revocation_password_hash(&id).await?;
                if state == IdentityState::Revoked {
                    return Err(Error::precondition(
                        Reason::IdentityRevoked,
                        format!("identity {id} is already revoked"),
                    )
                    .into());
                }
                if hash.is_some() && req.revocation_password.is_empty() {
                    return Err(Error::denied(
                        Reason::RevocationPasswordRequired,
                        "this identity has a revocation password; give it in revocation_password",
                    )
                    .into());
                }
                if let Some(hash) = hash {
                    let given = req.revocation_password;
                    let ok = self
                        .ctx
                        .hash(move |_| secrets::verify_password(&given, &hash))
                        .await?;
                    if !ok {
                        return Err(Error::denied(
                            Reason::WrongRevocationPassword,
                            "the revocation password is wrong",
                        )
                        .into());
                    }
                }
                Revoker::Itself
            }
            Principal::Identity { identity_id, .. } => Revoker::PackageAdmin {
                admin: identity_id.clone(),
                package,
            },
            Principal::Service { .. } => {
                return Err(Error::denied(
                    Reason::NotAuthorized,
                    "only the identity itself or an administrator of its ENTERPRISE package may revoke it",
                )
                .into());
            }
        };
        let revoked = self
            .ctx
            .store
            .revoke_identity(principal.actor(), &id, revoker)
            .await?;
        Ok(Response::new(revoked.into()))
    }

    async fn sign_in(
        &self,
        request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        // The TCP peer (see ratelimit: the limit a guesser meets is per
        // address, so the owner elsewhere is not locked out).
        let address = request
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        // The shape every issued username has; anything else cannot match,
        // so refusing it reveals nothing.
        validate::username(&mut v, "username", &req.username);
        if req.password.is_empty() {
            v.add("password", "is required");
        } else if req.password.chars().count() > 128 {
            v.add("password", "must be at most 128 characters");
        }
        v.finish()?;
        let id = id.ok_or_else(|| Error::invalid("identity_id", "is required"))?;

        // Reserve the attempt before any argon2 work, so parallel guesses
        // verify at most the limit.
        let limiter = &self.ctx.sign_in_failures;
        let keys = crate::ratelimit::sign_in_keys(id.as_str(), &req.username, &address);
        let Some(reservation) = limiter.reserve(&keys).await? else {
            return Err(Error::exhausted(
                Reason::RateLimited,
                "too many failed sign-ins; wait a minute",
            )
            .into());
        };

        // Always run one argon2 verification, against a decoy when the
        // username is unknown, so timing does not reveal which part was wrong.
        let credential = self.ctx.store.credential_for_sign_in(&req.username).await?;
        let hash = credential
            .as_ref()
            .map(|c| c.password_hash.clone())
            .unwrap_or_else(|| secrets::decoy_hash(self.ctx.config.hash_cost));
        let password = req.password;
        // A copy of the password only when its hash is due for the
        // configured cost (see `rehash_if_outdated`).
        let password_for_rehash = credential
            .as_ref()
            .is_some_and(|c| secrets::needs_rehash(&c.password_hash, self.ctx.config.hash_cost))
            .then(|| password.clone());
        let password_ok = self
            .ctx
            .hash(move |_| secrets::verify_password(&password, &hash))
            .await?;
        let bad = || {
            Error::unauthenticated(
                Reason::BadCredentials,
                "identity, username or password is wrong",
            )
        };
        let credential = match credential {
            Some(c) if password_ok => c,
            // The reservation stays: a failed check counts.
            _ => return Err(bad().into()),
        };

        let token = secrets::new_session_token();
        let ttl_ms = self.ctx.config.session_ttl.as_millis() as i64;
        let session = match self
            .ctx
            .store
            .sign_in(&id, &credential, secrets::token_hash(&token), ttl_ms)
            .await
        {
            Ok(s) => {
                limiter.release(reservation).await;
                if let Some(password) = password_for_rehash {
                    self.rehash_if_outdated(credential, password);
                }
                s
            }
            // Not attached or revoked: counts as a failure.
            Err(e @ Error::Unauthenticated { .. }) => return Err(e.into()),
            Err(e) => {
                limiter.release(reservation).await;
                return Err(e.into());
            }
        };
        Ok(Response::new(pb::SignInResponse {
            session_token: token,
            session: Some(session.into()),
        }))
    }

    async fn validate_session(
        &self,
        request: Request<pb::ValidateSessionRequest>,
    ) -> Result<Response<pb::ValidateSessionResponse>, Status> {
        let caller = authn::caller(&request)?;
        let token = &request.get_ref().session_token;
        if token.is_empty() {
            return Err(Error::invalid("session_token", "is required").into());
        }
        if token.len() > 256 {
            return Err(Error::invalid("session_token", "must be at most 256 characters").into());
        }
        if !secrets::is_session_token_shape(token) {
            return Err(Error::invalid(
                "session_token",
                "is not a session token (rss_ and 43 URL-safe base64 characters)",
            )
            .into());
        }
        if !caller.principal.is_service() && caller.token() != token {
            return Err(Error::denied(
                Reason::NotAuthorized,
                "a session may only validate its own token",
            )
            .into());
        }
        let response = match self.ctx.auth.session(token).await? {
            SessionLookup::Valid(session) => pb::ValidateSessionResponse {
                valid: true,
                denial_reason: pb::SessionDenialReason::Unspecified as i32,
                session: Some(session.into()),
                identity_state: pb::IdentityState::Active as i32,
            },
            SessionLookup::Expired => pb::ValidateSessionResponse {
                valid: false,
                denial_reason: pb::SessionDenialReason::Expired as i32,
                session: None,
                identity_state: pb::IdentityState::Unspecified as i32,
            },
            SessionLookup::Missing => pb::ValidateSessionResponse {
                valid: false,
                denial_reason: pb::SessionDenialReason::NoSession as i32,
                session: None,
                identity_state: pb::IdentityState::Unspecified as i32,
            },
        };
        Ok(Response::new(response))
    }

    async fn sign_out(&self, request: Request<pb::SignOutRequest>) -> Result<Response<()>, Status> {
        let caller = authn::caller(&request)?;
        let principal = &caller.principal;
        let token = if request.get_ref().session_token.is_empty() {
            caller.token().to_owned()
        } else {
            request.get_ref().session_token.clone()
        };
        if token.len() > 256 {
            return Err(Error::invalid("session_token", "must be at most 256 characters").into());
        }
        if !principal.is_service() && caller.token() != token {
            return Err(
                Error::denied(Reason::NotAuthorized, "a session may only sign itself out").into(),
            );
        }
        if principal.is_service() && !token.starts_with(secrets::SESSION_TOKEN_PREFIX) {
            return Err(Error::invalid("session_token", "is not a session token").into());
        }
        let ended = self
            .ctx
            .store
            .sign_out(principal.actor(), &secrets::token_hash(&token))
            .await?;
        if !ended {
            return Err(Error::not_found(Reason::Unauthenticated, "no such session").into());
        }
        Ok(Response::new(()))
    }
}
