//! W5: a mutating call that carries a `request_id` (field 99 of its
//! request message, AIP-155) takes effect once. One tower layer, inside
//! authentication, for every method whose request message has the field
//! (found in the descriptor set at start, so a new RPC is covered by its
//! proto alone):
//!
//! - a remembered ID (24 h) from the same caller with the same request is
//!   answered with the recorded response, without running the handler; with
//!   another method, caller or request it is INVALID_ARGUMENT;
//! - a new ID runs the handler inside [`store::idempotency::with_request`]:
//!   its first write claims the ID in its own transaction (see there), and
//!   an OK response is recorded right after;
//! - a twin that lost the race (the claim failed) waits for the winner's
//!   response (up to two seconds, else ABORTED `REQUEST_IN_PROGRESS`).
//!
//! The fingerprint is SHA-256 over the method and the request message
//! without `request_id` and without fields whose name contains `password`
//! (never stored, not even as a fast hash). Requests are compared as sent:
//! a client that retries re-sends the same bytes.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use prost::Message;
use sha2::{Digest, Sha256};

use super::Ctx;
use super::authn::Authenticated;
use crate::domain::{Error, Principal};
use crate::store::idempotency::{ClaimState, RequestClaim, RequestKey, with_request};

/// The field number of `request_id` in every request message that has one.
pub const REQUEST_ID_FIELD: u32 = 99;

/// Per method: the field numbers left out of the fingerprint (secrets).
#[derive(Debug, Default)]
pub struct IdempotentMethods {
    secrets: HashMap<String, HashSet<u32>>,
}

impl IdempotentMethods {
    /// The methods of `descriptors` (an encoded FileDescriptorSet) whose
    /// request message has `string request_id = 99`.
    pub fn from_descriptors(descriptors: &[u8]) -> Self {
        let Ok(set) = prost_types::FileDescriptorSet::decode(descriptors) else {
            return Self::default();
        };
        let mut messages = HashMap::new();
        for file in &set.file {
            let package = file.package();
            for m in &file.message_type {
                messages.insert(format!(".{package}.{}", m.name()), m);
            }
        }
        let mut secrets = HashMap::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let Some(input) = messages.get(method.input_type()) else {
                        continue;
                    };
                    let has_id = input
                        .field
                        .iter()
                        .any(|f| f.name() == "request_id" && f.number() == REQUEST_ID_FIELD as i32);
                    if !has_id {
                        continue;
                    }
                    let hidden = input
                        .field
                        .iter()
                        .filter(|f| f.name().contains("password"))
                        .map(|f| f.number() as u32)
                        .collect();
                    secrets.insert(
                        format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                        hidden,
                    );
                }
            }
        }
        IdempotentMethods { secrets }
    }

    /// Whether `path` takes a request ID.
    pub fn contains(&self, path: &str) -> bool {
        self.secrets.contains_key(path)
    }

    /// The paths that take a request ID.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }
}

/// The request ID (if any) of an encoded message and its fingerprint
/// input (the message without the ID and the `hidden` fields). `None`
/// when the bytes do not parse (the handler's decoder then answers).
fn split_request_id(mut msg: &[u8], hidden: &HashSet<u32>) -> Option<(String, Vec<u8>)> {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
    let mut id = String::new();
    let mut rest = Vec::with_capacity(msg.len());
    while !msg.is_empty() {
        let start = msg;
        let (tag, wire) = decode_key(&mut msg).ok()?;
        if tag == REQUEST_ID_FIELD && wire == WireType::LengthDelimited {
            let len = decode_varint(&mut msg).ok()? as usize;
            if len > msg.len() {
                return None;
            }
            id = String::from_utf8(msg[..len].to_vec()).ok()?;
            msg.advance(len);
            continue;
        }
        skip_field(wire, tag, &mut msg, DecodeContext::default()).ok()?;
        if !hidden.contains(&tag) {
            rest.extend_from_slice(&start[..start.len() - msg.len()]);
        }
    }
    Some((id, rest))
}

/// AIP-155 asks for a UUID (any version, canonical text form).
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn principal_key(p: &Principal) -> String {
    match p {
        Principal::Identity { identity_id, .. } => format!("IDENTITY:{identity_id}"),
        Principal::Service { name } => format!("SERVICE:{name}"),
    }
}

fn fingerprint(method: &str, rest: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(rest);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

type Body = tonic::body::Body;

fn error_response(e: Error) -> http::Response<Body> {
    tonic::Status::from(e).into_http()
}

/// An OK gRPC response with `body` (length-prefixed messages) and
/// `grpc-status: 0` in the trailers.
fn replay(body: Bytes) -> http::Response<Body> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = futures::stream::iter([
        Ok::<_, tonic::Status>(http_body::Frame::data(body)),
        Ok(http_body::Frame::trailers(trailers)),
    ]);
    let mut response = http::Response::new(Body::new(http_body_util::StreamBody::new(frames)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

/// Tower layer for W5 (see the module).
#[derive(Clone, Debug)]
pub struct IdempotencyLayer(pub Arc<Ctx>);

impl<S> tower::Layer<S> for IdempotencyLayer {
    type Service = IdempotencyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdempotencyService {
            inner,
            ctx: self.0.clone(),
        }
    }
}

/// See [`IdempotencyLayer`].
#[derive(Clone, Debug)]
pub struct IdempotencyService<S> {
    inner: S,
    ctx: Arc<Ctx>,
}

impl<S> tower::Service<http::Request<Body>> for IdempotencyService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if !self.ctx.idempotent.contains(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let path = request.uri().path().to_owned();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let principal = parts
                .extensions
                .get::<Authenticated>()
                .map(|a| principal_key(&a.principal));
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(s) => return Ok(s.into_http()),
            };
            let rebuilt = |bytes: Bytes| {
                http::Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)))
            };
            // One uncompressed message: 1 flag byte, 4 length bytes.
            let parsed = (bytes.len() >= 5 && bytes[0] == 0)
                .then(|| {
                    let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
                    (bytes.len() == 5 + len as usize).then(|| &bytes[5..])
                })
                .flatten()
                .and_then(|msg| {
                    let hidden = ctx.idempotent.secrets.get(&path)?;
                    split_request_id(msg, hidden)
                });
            let Some((request_id, rest)) = parsed.filter(|(id, _)| !id.is_empty()) else {
                return inner.call(rebuilt(bytes)).await;
            };
            if !is_uuid(&request_id) {
                return Ok(error_response(Error::invalid(
                    "request_id",
                    "must be a UUID (e.g. 123e4567-e89b-12d3-a456-426614174000)",
                )));
            }
            let Some(principal) = principal else {
                return inner.call(rebuilt(bytes)).await;
            };
            let key = RequestKey {
                request_id,
                method: path.clone(),
                principal,
                fingerprint: fingerprint(&path, &rest),
            };
            match answer_remembered(&ctx, &key, false).await {
                Remembered::Answer(r) => return Ok(r),
                Remembered::New => {}
            }
            let claim = RequestClaim::new(key.clone());
            let response = with_request(claim.clone(), inner.call(rebuilt(bytes))).await?;
            match claim.state() {
                ClaimState::Unclaimed => Ok(response),
                ClaimState::Duplicate => match answer_remembered(&ctx, &key, true).await {
                    Remembered::Answer(r) => Ok(r),
                    Remembered::New => Ok(response),
                },
                ClaimState::Claimed => Ok(record(&ctx, &key, response).await),
            }
        })
    }
}

enum Remembered {
    Answer(http::Response<Body>),
    New,
}

/// The answer for a remembered `key`, waiting up to two seconds for the
/// response of a twin that has committed but not recorded it yet
/// (`wait`, or a record without response).
async fn answer_remembered(ctx: &Ctx, key: &RequestKey, wait: bool) -> Remembered {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut seen = wait;
    loop {
        let found = match ctx.store.find_request(&key.request_id).await {
            Ok(found) => found,
            Err(e) => return Remembered::Answer(error_response(e)),
        };
        match found {
            None if !seen => return Remembered::New,
            None => {}
            Some(record) => {
                seen = true;
                if record.key != *key {
                    return Remembered::Answer(error_response(Error::invalid(
                        "request_id",
                        "was used for another request (a different method, caller or \
                         request body) within the last 24 hours; use a new UUID",
                    )));
                }
                if let Some(body) = record.response {
                    return Remembered::Answer(replay(Bytes::from(body)));
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Remembered::Answer(error_response(Error::Aborted(format!(
                "request {} was applied, but its response is not recorded (not yet, or it \
                 was erased with a revoked identity's data); retry in a moment, or read the \
                 resource",
                key.request_id
            ))));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records an OK `response` of a claimed request and returns it.
async fn record(
    ctx: &Ctx,
    key: &RequestKey,
    response: http::Response<Body>,
) -> http::Response<Body> {
    let ok = |h: &http::HeaderMap| h.get("grpc-status").is_none_or(|v| v == "0");
    if !ok(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(s) => return s.into_http(),
    };
    let trailers = collected.trailers().cloned();
    let data = collected.to_bytes();
    if trailers.as_ref().is_none_or(ok)
        && let Err(e) = ctx.store.record_response(&key.request_id, &data).await
    {
        tracing::warn!(error = %e, request_id = %key.request_id, "recording a response failed");
    }
    let mut frames = vec![Ok::<_, tonic::Status>(http_body::Frame::data(data))];
    if let Some(t) = trailers {
        frames.push(Ok(http_body::Frame::trailers(t)));
    }
    http::Response::from_parts(
        parts,
        Body::new(http_body_util::StreamBody::new(futures::stream::iter(
            frames,
        ))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w5_request_ids_are_uuids() {
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
        assert!(!is_uuid(""));
    }

    #[test]
    fn w5_the_fingerprint_leaves_out_the_id_and_secrets() {
        let req = crate::pb::RevokeIdentityRequest {
            identity_id: "AAAAAAAA".into(),
            revocation_password: "secret".into(),
            package_id: String::new(),
            request_id: "123e4567-e89b-12d3-a456-426614174000".into(),
        };
        let methods = IdempotentMethods::from_descriptors(crate::pb::FILE_DESCRIPTOR_SET);
        let path = "/roster.v1.IdentityService/RevokeIdentity";
        let hidden = methods
            .secrets
            .get(path)
            .expect("RevokeIdentity takes a request_id");
        let (id, rest) = split_request_id(&req.encode_to_vec(), hidden).expect("parses");
        assert_eq!(id, req.request_id);
        let without = crate::pb::RevokeIdentityRequest {
            identity_id: "AAAAAAAA".into(),
            ..Default::default()
        };
        assert_eq!(rest, without.encode_to_vec());
        assert!(!methods.contains("/roster.v1.IdentityService/SignIn"));
        assert!(!methods.contains("/roster.v1.LicenseService/IssueCredential"));
        assert!(!methods.contains("/roster.v1.MembershipService/CheckAccess"));
    }

    /// Every mutating RPC takes a request_id, except those whose response
    /// carries a secret (it would have to be stored) and RecordActivity
    /// (idempotent by nature); no read takes one.
    #[test]
    fn w5_every_mutating_rpc_takes_a_request_id() {
        let set = prost_types::FileDescriptorSet::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let methods = IdempotentMethods::from_descriptors(crate::pb::FILE_DESCRIPTOR_SET);
        let reads = [
            "Get", "List", "BatchGet", "Check", "Resolve", "Validate", "Preview", "Watch",
        ];
        let without = [
            "SignIn",
            "IssueCredential",
            "CreateScimToken",
            "RecordActivity",
        ];
        let mut mutating = 0;
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let name = method.name();
                    let path = format!("/{}.{}/{name}", file.package(), service.name());
                    let read = reads.iter().any(|p| name.starts_with(p));
                    let expected = !read && !without.contains(&name);
                    assert_eq!(methods.contains(&path), expected, "{path}");
                    mutating += usize::from(expected);
                }
            }
        }
        assert_eq!(methods.paths().count(), mutating);
        assert!(mutating >= 30, "{mutating}");
    }
}
