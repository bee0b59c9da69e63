"""asyncio client: the same defaults as roster_client.connect on grpc.aio.

    import roster_client.aio
    from roster_client.v1 import identity_pb2

    async with roster_client.aio.connect("127.0.0.1:50051", token) as client:
        ident = await client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="AB12CD34"))

Errors are grpc.aio.AioRpcError, read with roster_client.error_details(err).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

import grpc
import grpc.aio

from roster_client._client import DEFAULT_TIMEOUT, _channel_options
from roster_client.v1 import (
    events_pb2_grpc,
    identity_pb2_grpc,
    license_pb2_grpc,
    membership_pb2_grpc,
)

__all__ = ["AsyncRosterClient", "connect"]


class _Details(grpc.aio.ClientCallDetails):
    pass


def _with_defaults(
    details: grpc.aio.ClientCallDetails, auth: Tuple[Tuple[str, str], ...], timeout: Optional[float]
) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if auth and "authorization" not in metadata:
        for key, value in auth:
            metadata.add(key, value)
    return _Details(
        details.method,
        details.timeout if details.timeout is not None else timeout,
        metadata,
        details.credentials,
        details.wait_for_ready,
    )


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, auth: Tuple[Tuple[str, str], ...], timeout: Optional[float]) -> None:
        self._auth, self._timeout = auth, timeout

    async def intercept_unary_unary(self, continuation: Callable, details: Any, request: Any) -> Any:
        return await continuation(_with_defaults(details, self._auth, self._timeout), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    """Streams (WatchEvents) get the token but no default deadline."""

    def __init__(self, auth: Tuple[Tuple[str, str], ...]) -> None:
        self._auth = auth

    async def intercept_unary_stream(self, continuation: Callable, details: Any, request: Any) -> Any:
        return await continuation(_with_defaults(details, self._auth, None), request)


class AsyncRosterClient:
    """The four Roster service stubs on one grpc.aio channel. Use `async with` or `await close()`."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.identity = identity_pb2_grpc.IdentityServiceStub(channel)
        self.license = license_pb2_grpc.LicenseServiceStub(channel)
        self.membership = membership_pb2_grpc.MembershipServiceStub(channel)
        self.events = events_pb2_grpc.EventServiceStub(channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> "AsyncRosterClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def connect(
    target: str,
    token: str = "",
    *,
    credentials: Optional[grpc.ChannelCredentials] = None,
    default_timeout: Optional[float] = DEFAULT_TIMEOUT,
    options: Sequence[Tuple[str, Any]] = (),
) -> AsyncRosterClient:
    """Connects to a Roster server with grpc.aio; arguments as roster_client.connect.

    Call it inside a running event loop (grpc.aio channels belong to one loop).
    """
    auth: Tuple[Tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
    interceptors = [_UnaryUnary(auth, default_timeout), _UnaryStream(auth)]
    channel_options = _channel_options(target, options)
    if credentials is None:
        channel = grpc.aio.insecure_channel(target, options=channel_options, interceptors=interceptors)
    else:
        channel = grpc.aio.secure_channel(target, credentials, options=channel_options, interceptors=interceptors)
    return AsyncRosterClient(channel)
