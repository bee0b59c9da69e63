"""A program that depends on roster-client, installed with pip into a fresh venv."""

import asyncio
import os
import sys

import grpc

import roster_client
import roster_client.aio
from roster_client.v1 import identity_pb2

target, key = os.environ["ROSTER_SMOKE_TARGET"], os.environ["ROSTER_SMOKE_KEY"]
assert roster_client.__version__ == os.environ["ROSTER_SDK_VERSION"], roster_client.__version__

with roster_client.connect(target, key) as client:
    created = client.identity.CreateIdentity(
        identity_pb2.CreateIdentityRequest(identity=identity_pb2.Identity(display_name="Installed Python"))
    )
    got = client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id=created.identity_id))
    assert got.display_name == "Installed Python", got
    try:
        client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="bad"))
        sys.exit("GetIdentity(bad) succeeded")
    except grpc.RpcError as err:
        details = roster_client.error_details(err)
        assert details.reason == roster_client.Reason.INVALID_ARGUMENT, details


async def main() -> None:
    async with roster_client.aio.connect(target, key) as client:
        got = await client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id=created.identity_id))
        assert got.identity_id == created.identity_id, got


asyncio.run(main())
print(f"ok   python {sys.version.split()[0]} roster-client {roster_client.__version__}: identity {created.identity_id}")
