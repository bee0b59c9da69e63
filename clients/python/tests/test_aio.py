"""The asyncio client against a running Roster server (same env as test_smoke.py)."""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest

import roster_client
import roster_client.aio
from roster_client.v1 import events_pb2, identity_pb2

TARGET = os.environ.get("ROSTER_SMOKE_TARGET", "")
KEY = os.environ.get("ROSTER_SMOKE_KEY", "")


async def _smoke() -> None:
    async with roster_client.aio.connect(TARGET, KEY) as svc:
        ident = await svc.identity.CreateIdentity(
            identity_pb2.CreateIdentityRequest(identity=identity_pb2.Identity(display_name="Smoke Python aio"))
        )
        got = await svc.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id=ident.identity_id))
        assert got.display_name == "Smoke Python aio", got
        print(f"ok   aio CreateIdentity + GetIdentity {ident.identity_id}")

        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            await svc.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="bad"))
        details = roster_client.error_details(excinfo.value)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT, details
        assert "identity_id" in details.field_violations, details
        assert details.reason == roster_client.Reason.INVALID_ARGUMENT, details
        print(f"ok   aio GetIdentity(bad) -> {details.reason}")

        # A stream gets the token too: the server answers the subscription.
        stream = svc.events.WatchEvents(
            events_pb2.WatchEventsRequest(filter=events_pb2.EventFilter(identity_id=ident.identity_id))
        )
        await asyncio.wait_for(stream.initial_metadata(), timeout=10)
        stream.cancel()
        print("ok   aio WatchEvents subscribed")

    async with roster_client.aio.connect(TARGET) as anon:
        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            await anon.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="AB12CD34"))
        assert roster_client.error_details(excinfo.value).reason == roster_client.Reason.UNAUTHENTICATED
        print("ok   aio without a token -> UNAUTHENTICATED")


@pytest.mark.skipif(not (TARGET and KEY), reason="ROSTER_SMOKE_TARGET / ROSTER_SMOKE_KEY not set")
def test_aio_smoke() -> None:
    asyncio.run(_smoke())
