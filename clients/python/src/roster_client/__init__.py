"""Python client for the Roster gRPC API.

    import roster_client
    from roster_client.v1 import identity_pb2

    with roster_client.connect("127.0.0.1:50051", token) as client:
        ident = client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="AB12CD34"))

`roster_client.v1` holds the generated messages (`*_pb2`) and stubs
(`*_pb2_grpc`); `roster_client.errors` reads google.rpc error details and
holds the reason codes (`Reason`); `roster_client.aio.connect` is the asyncio
client.
"""

from importlib import metadata as _metadata

from roster_client._client import DEFAULT_TIMEOUT, RosterClient, connect
from roster_client.errors import ErrorDetails, Reason, error_details

try:
    __version__ = _metadata.version("roster-client")
except _metadata.PackageNotFoundError:  # imported from a source tree
    __version__ = "0+unknown"

__all__ = ["DEFAULT_TIMEOUT", "ErrorDetails", "Reason", "RosterClient", "__version__", "connect", "error_details"]
