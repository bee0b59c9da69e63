//! Authentication (A1): turns `authorization: Bearer <token>` into a
//! [`Principal`]. Service keys come from configuration or the database;
//! session tokens are looked up by their SHA-256 hash. Only hashes are ever
//! stored or compared.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::cache::Caches;
use crate::domain::secrets::{self, SERVICE_KEY_PREFIX, SESSION_TOKEN_PREFIX};
use crate::domain::{Error, Principal, Reason, Result};
use crate::store::{SessionLookup, Store};

/// Resolves bearer tokens.
#[derive(Debug)]
pub struct Authenticator {
    store: Store,
    caches: Arc<Caches>,
    /// SHA-256 hex of a service key → its name (configured and seen stored
    /// keys; stored keys are looked up on first use).
    service_keys: RwLock<HashMap<String, String>>,
}

fn unauthenticated(message: &str) -> Error {
    Error::unauthenticated(Reason::Unauthenticated, message)
}

impl Authenticator {
    /// An authenticator trusting the configured keys and those stored in
    /// the database.
    pub fn new(store: Store, caches: Arc<Caches>, configured: &[(String, String)]) -> Self {
        let keys = configured
            .iter()
            .map(|(name, hash)| (hash.clone(), name.clone()))
            .collect();
        Authenticator {
            store,
            caches,
            service_keys: RwLock::new(keys),
        }
    }

    /// The principal behind a token.
    pub async fn principal(&self, token: &str) -> Result<Principal> {
        if token.starts_with(SERVICE_KEY_PREFIX) || !token.starts_with(SESSION_TOKEN_PREFIX) {
            return self.service(token).await;
        }
        match self.session(token).await? {
            SessionLookup::Valid(s) => Ok(Principal::Identity {
                identity_id: s.identity_id,
                session_id: s.id,
                package_id: s.package_id,
            }),
            SessionLookup::Expired => {
                Err(unauthenticated("the session has expired; sign in again"))
            }
            SessionLookup::Missing => Err(unauthenticated(
                "the session token is not valid (signed out, ended or unknown)",
            )),
        }
    }

    /// What a session token stands for right now (I6). Hot path: served
    /// from the session cache, which the event feed invalidates.
    pub async fn session(&self, token: &str) -> Result<SessionLookup> {
        let hash = secrets::token_hash(token);
        if let Some(session) = self.caches.session(&hash) {
            return Ok(
                if session.expires_at.timestamp_millis() <= self.store.now_ms() {
                    SessionLookup::Expired
                } else {
                    SessionLookup::Valid((*session).clone())
                },
            );
        }
        let fill = self.caches.begin();
        let lookup = self
            .store
            .bounded(self.store.resolve_session(&hash))
            .await?;
        if let SessionLookup::Valid(session) = &lookup {
            self.caches
                .put_session(hash, Arc::new(session.clone()), fill);
        }
        Ok(lookup)
    }

    async fn service(&self, token: &str) -> Result<Principal> {
        let hash = secrets::token_hash(token);
        if let Some(name) = self
            .service_keys
            .read()
            .ok()
            .and_then(|k| k.get(&hash).cloned())
        {
            return Ok(Principal::Service { name });
        }
        match self.store.service_key_name(&hash).await? {
            Some(name) => {
                if let Ok(mut keys) = self.service_keys.write() {
                    keys.insert(hash, name.clone());
                }
                Ok(Principal::Service { name })
            }
            None => Err(unauthenticated("unknown service key or session token")),
        }
    }
}

/// The token of `authorization: Bearer <token>` (the gRPC layer,
/// `grpc/authn.rs`, calls this for every call that needs a bearer).
pub fn bearer(headers: &http::HeaderMap) -> Result<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("missing `authorization: Bearer <token>` metadata"))?
        .to_str()
        .map_err(|_| unauthenticated("the authorization metadata is not readable text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| unauthenticated("the authorization metadata must be `Bearer <token>`"))?
        .trim();
    if token.is_empty() {
        return Err(unauthenticated("the bearer token is empty"));
    }
    Ok(token)
}
