//! The protobuf codec of every Roster service: prost's, except that a
//! request body that does not decode is the caller's fault and answers
//! INVALID_ARGUMENT (V1) with a `BadRequest` violation of `request`
//! instead of prost's INTERNAL. Set for the generated code through
//! `codec_path` in `build.rs`.
//!
//! The generated clients use the same codec, so a response that does not
//! decode shows up there as INVALID_ARGUMENT too; Roster's own clients are
//! tests and the benchmark, where that distinction does not matter.

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::domain::Error;

/// [`ProstCodec`] with decode failures mapped to INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct RosterCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for RosterCodec<T, U> {
    fn default() -> Self {
        RosterCodec {
            inner: ProstCodec::new(),
        }
    }
}

impl<T, U> Codec for RosterCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RosterDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RosterDecoder {
            inner: self.inner.decoder(),
            _pd: PhantomData,
        }
    }
}

/// [`ProstDecoder`] whose errors are INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct RosterDecoder<U> {
    inner: ProstDecoder<U>,
    _pd: PhantomData<U>,
}

impl<U: prost::Message + Default> Decoder for RosterDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // Decode with prost directly rather than through the inner decoder,
        // so the typed `prost::DecodeError` is at hand (the inner one has
        // already turned it into an INTERNAL status).
        match U::decode(buf) {
            Ok(item) => Ok(Some(item)),
            Err(e) => Err(Error::invalid(
                "request",
                format!("is not a valid {} message: {e}", short_type_name::<U>()),
            )
            .into()),
        }
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// `GetIdentityRequest` for `roster::pb::GetIdentityRequest`.
fn short_type_name<U>() -> &'static str {
    let full = std::any::type_name::<U>();
    full.rsplit("::").next().unwrap_or(full)
}
