//! Authentication (A1) as one tower layer in front of every service.
//!
//! Deny by default: a call whose path is not on the allow-list
//! ([`is_public`]: SignIn, health, reflection) needs a valid bearer
//! credential (`authorization: Bearer <token>`, a session token or a
//! service key), or it is answered UNAUTHENTICATED (ErrorInfo reason
//! `UNAUTHENTICATED`, via `grpc/status.rs`) before any handler or body
//! decoder runs. A new RPC is therefore covered without any code of its
//! own. The layer sits inside the metrics layer, so refusals are counted
//! and logged like every other call.
//!
//! An authenticated call carries an [`Authenticated`] (principal and
//! token) in its request extensions; handlers take it with [`principal`]
//! or [`caller`], which refuse a call without one (defence in depth, never
//! a second lookup).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Ctx;
use crate::domain::{Error, Principal, Reason, Result};

/// Methods callable without a bearer: SignIn is how a person gets one.
const PUBLIC_METHODS: &[&str] = &["/roster.v1.IdentityService/SignIn"];

/// Services callable without a bearer, every method: health (probes, load
/// balancers) and reflection in both versions (grpcurl, IDEs).
const PUBLIC_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Whether a call to `path` (`/package.Service/Method`) is served without
/// authentication.
pub fn is_public(path: &str) -> bool {
    if PUBLIC_METHODS.contains(&path) {
        return true;
    }
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return false;
    };
    !method.is_empty() && !method.contains('/') && PUBLIC_SERVICES.contains(&service)
}

/// Who an authenticated call comes from, as a request extension.
#[derive(Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The bearer token it presented (watch streams check it again, E2;
    /// ValidateSession and SignOut compare it with their argument).
    token: Arc<str>,
}

impl Authenticated {
    /// The bearer token the call presented.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("principal", &self.principal)
            .field("token", &"***")
            .finish()
    }
}

/// What the authentication layer found for `request`; UNAUTHENTICATED when
/// it found nothing (a public method, or a server wired without the layer).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Authenticated> {
    request.extensions().get::<Authenticated>().ok_or_else(|| {
        Error::unauthenticated(Reason::Unauthenticated, "the call is not authenticated")
    })
}

/// The principal of an authenticated `request` (see [`caller`]).
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal> {
    caller(request).map(|c| c.principal.clone())
}

/// Tower layer authenticating every non-public call (see the module).
#[derive(Clone, Debug)]
pub struct AuthLayer(pub Arc<Ctx>);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            ctx: self.0.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    ctx: Arc<Ctx>,
}

impl<S, B, R> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if is_public(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The service that was polled ready goes into the future; a clone
        // stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let found = match crate::auth::bearer(request.headers()) {
                Ok(token) => ctx
                    .auth
                    .principal(token)
                    .await
                    .map(|principal| Authenticated {
                        principal,
                        token: Arc::from(token),
                    }),
                Err(e) => Err(e),
            };
            match found {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(e) => Ok(tonic::Status::from(e).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_only_sign_in_health_and_reflection_are_public() {
        for path in [
            "/roster.v1.IdentityService/SignIn",
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(is_public(path), "{path}");
        }
        for path in [
            "/roster.v1.IdentityService/ValidateSession",
            "/roster.v1.IdentityService/SignOut",
            "/roster.v1.IdentityService/SignIn/",
            "/roster.v1.IdentityService/SignInX",
            "/roster.v1.IdentityService/NoSuchMethod",
            "/roster.v1.NoSuchService/Anything",
            "/grpc.health.v1.Health",
            "/grpc.health.v1.Health/",
            "/grpc.health.v1.Health/Check/x",
            "/grpc.health.v1.HealthX/Check",
            "grpc.health.v1.Health/Check",
            "/",
            "",
        ] {
            assert!(!is_public(path), "{path}");
        }
    }

    /// Every allow-list entry names something the server serves, so a
    /// rename cannot leave a stale entry behind (it would fail closed).
    #[test]
    fn a1_the_allow_list_names_served_methods_and_services() {
        use prost::Message;
        let mut services = Vec::new();
        let mut methods = Vec::new();
        for bytes in [
            crate::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let set = prost_types::FileDescriptorSet::decode(bytes).expect("descriptor set");
            for file in &set.file {
                for service in &file.service {
                    let full = format!("{}.{}", file.package(), service.name());
                    for m in &service.method {
                        methods.push(format!("/{full}/{}", m.name()));
                    }
                    services.push(full);
                }
            }
        }
        for m in PUBLIC_METHODS {
            assert!(methods.iter().any(|x| x == m), "{m} is not served");
        }
        for s in PUBLIC_SERVICES {
            assert!(services.iter().any(|x| x == s), "{s} is not served");
        }
    }

    #[test]
    fn the_token_stays_out_of_debug() {
        let a = Authenticated {
            principal: Principal::Service {
                name: "ci".to_owned(),
            },
            token: Arc::from("rsk_secret"),
        };
        let text = format!("{a:?}");
        assert!(!text.contains("rsk_secret"), "{text}");
        assert!(text.contains("ci"), "{text}");
    }
}
