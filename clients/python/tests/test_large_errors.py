"""Issue 10, item 3: an INVALID_ARGUMENT naming 1,000 malformed IDs must stay
readable by gRPC C-core clients (which refuse more than 16 KiB of metadata):
the server caps the status so it fits in 8 KiB. Run by the Python smoke step
of scripts/clients-test.sh against a live server.
"""

from __future__ import annotations

import base64
import os

import grpc
import pytest

import roster_client
from roster_client.v1 import identity_pb2, license_pb2

TARGET = os.environ.get("ROSTER_SMOKE_TARGET", "")
KEY = os.environ.get("ROSTER_SMOKE_KEY", "")

BAD_IDS = [f"not-an-id-{i:04}-ÄÖÜ" for i in range(1000)]


def trailer_bytes(err: grpc.RpcError) -> int:
    """Size of the trailers on the wire (binary values base64-encoded)."""
    total = 0
    for key, value in err.trailing_metadata() or ():
        if key.endswith("-bin"):
            raw = value if isinstance(value, bytes) else value.encode()
            total += len(key) + len(base64.b64encode(raw))
        else:
            total += len(key) + len(str(value).encode())
    # grpc-message travels percent-encoded; details() is the decoded text.
    total += len("grpc-message") + 3 * len((err.details() or "").encode())
    return total


@pytest.mark.skipif(not (TARGET and KEY), reason="ROSTER_SMOKE_TARGET / ROSTER_SMOKE_KEY not set")
@pytest.mark.parametrize("rpc", ["BatchGetIdentities", "CheckInternalContacts"])
def test_thousand_malformed_ids_decode_as_invalid_argument(rpc: str) -> None:
    svc = roster_client.connect(TARGET, KEY)
    with pytest.raises(grpc.RpcError) as caught:
        if rpc == "BatchGetIdentities":
            svc.identity.BatchGetIdentities(identity_pb2.BatchGetIdentitiesRequest(identity_ids=BAD_IDS))
        else:
            svc.license.CheckInternalContacts(
                license_pb2.CheckInternalContactsRequest(
                    pairs=[
                        license_pb2.IdentityPair(first_identity_id=i, second_identity_id=i) for i in BAD_IDS
                    ]
                )
            )
    err = caught.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{err.code()}: {err.details()}"
    size = trailer_bytes(err)
    assert size < 8192, f"trailers of {size} bytes"
    print(f"ok   {rpc} with 1,000 malformed IDs: INVALID_ARGUMENT, trailers <= {size} bytes")
