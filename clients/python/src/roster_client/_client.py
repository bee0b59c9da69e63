"""connect(): one channel, bearer credentials, retry/deadline defaults, typed stubs."""

from __future__ import annotations

import collections
from importlib import resources
from typing import Any, Callable, List, Optional, Sequence, Tuple

import grpc

from roster_client.v1 import (
    events_pb2_grpc,
    identity_pb2_grpc,
    license_pb2_grpc,
    membership_pb2_grpc,
)

#: Deadline in seconds for unary calls made without an explicit `timeout`.
DEFAULT_TIMEOUT = 30.0

# clients/service_config.json: 30s per-method timeout for unary RPCs, retries
# on UNAVAILABLE (4 attempts, exponential backoff) for read-only RPCs and
# WatchEvents; mutations are not retried, so nothing is applied twice.
_SERVICE_CONFIG = resources.files("roster_client").joinpath("service_config.json").read_text()


class _ClientCallDetails(
    collections.namedtuple(
        "_ClientCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _RosterInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` and, for unary calls, a default deadline."""

    def __init__(self, token: str, default_timeout: Optional[float]) -> None:
        self._auth: Tuple[Tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._default_timeout = default_timeout

    def _details(self, details: grpc.ClientCallDetails, unary: bool) -> grpc.ClientCallDetails:
        metadata = list(details.metadata or ())
        if self._auth and not any(k == "authorization" for k, _ in metadata):
            metadata.extend(self._auth)
        timeout = details.timeout
        if timeout is None and unary:
            timeout = self._default_timeout
        return _ClientCallDetails(
            details.method,
            timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details, unary=True), request)

    def intercept_unary_stream(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details, unary=False), request)

    def intercept_stream_unary(self, continuation: Callable, details: Any, it: Any) -> Any:
        return continuation(self._details(details, unary=True), it)

    def intercept_stream_stream(self, continuation: Callable, details: Any, it: Any) -> Any:
        return continuation(self._details(details, unary=False), it)


class RosterClient:
    """The four Roster service stubs on one channel. Use as a context manager or call close()."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.identity = identity_pb2_grpc.IdentityServiceStub(channel)
        self.license = license_pb2_grpc.LicenseServiceStub(channel)
        self.membership = membership_pb2_grpc.MembershipServiceStub(channel)
        self.events = events_pb2_grpc.EventServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "RosterClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _channel_options(target: str, options: Sequence[Tuple[str, Any]]) -> List[Tuple[str, Any]]:
    """The service config and retries, plus the caller's options.

    A static address list ("ipv4:10.0.0.1:50051,10.0.0.2:50051") would
    otherwise be sent as the :authority, which HTTP/2 servers reject; the first
    address stands in for it unless the caller sets grpc.default_authority.
    """
    out: List[Tuple[str, Any]] = [("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)]
    if (
        target.startswith(("ipv4:", "ipv6:"))
        and "," in target
        and not any(k == "grpc.default_authority" for k, _ in options)
    ):
        first = target.split(":", 1)[1].lstrip("/").split(",", 1)[0]
        out.append(("grpc.default_authority", first))
    out.extend(options)
    return out


def connect(
    target: str,
    token: str = "",
    *,
    credentials: Optional[grpc.ChannelCredentials] = None,
    default_timeout: Optional[float] = DEFAULT_TIMEOUT,
    options: Sequence[Tuple[str, Any]] = (),
) -> RosterClient:
    """Connects to a Roster server.

    target: "host:port" or any gRPC target ("dns:///roster.svc:50051", or a
        static list "ipv4:10.0.0.1:50051,10.0.0.2:50051"); calls are spread
        round_robin over every address it resolves to.
    token: a service key or a session token from SignIn, sent as
        `authorization: Bearer <token>`; empty to call only SignIn.
    credentials: TLS channel credentials (grpc.ssl_channel_credentials());
        plaintext when None, as on loopback or inside a cluster network.
    default_timeout: deadline in seconds for unary calls without `timeout=`
        (None: only the service config's 30s per-method timeout).
    options: extra channel arguments.
    """
    channel_options = _channel_options(target, options)
    if credentials is None:
        channel = grpc.insecure_channel(target, options=channel_options)
    else:
        channel = grpc.secure_channel(target, credentials, options=channel_options)
    channel = grpc.intercept_channel(channel, _RosterInterceptor(token, default_timeout))
    return RosterClient(channel)
