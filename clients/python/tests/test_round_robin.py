"""round_robin by default: calls spread over every address a name resolves to.

ROSTER_LB_A and ROSTER_LB_B are two Roster servers with separate databases
(scripts/clients-test.sh starts them); an identity created on A alone is found
by the calls A answers and NOT_FOUND on B, so the answers show who served each.
"""

from __future__ import annotations

import os

import grpc
import pytest

import roster_client
from roster_client.v1 import identity_pb2

A = os.environ.get("ROSTER_LB_A", "")
B = os.environ.get("ROSTER_LB_B", "")
KEY = os.environ.get("ROSTER_SMOKE_KEY", "")
CALLS = 40


@pytest.mark.skipif(not (A and B and KEY), reason="ROSTER_LB_A / ROSTER_LB_B / ROSTER_SMOKE_KEY not set")
def test_calls_spread_over_both_replicas() -> None:
    with roster_client.connect(A, KEY) as only_a:
        ident = only_a.identity.CreateIdentity(
            identity_pb2.CreateIdentityRequest(identity=identity_pb2.Identity(display_name="LB probe"))
        )
    served = {"A": 0, "B": 0}
    # One name, two addresses: the ipv4: resolver hands both to the channel.
    with roster_client.connect(f"ipv4:{A},{B}", KEY) as both:
        for _ in range(CALLS):
            try:
                both.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id=ident.identity_id))
                served["A"] += 1
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND, err
                served["B"] += 1
    print(f"ok   round_robin over 2 replicas, {CALLS} calls: {served}")
    # round_robin alternates once both subchannels are ready; allow for the
    # first calls going to whichever connected first.
    assert served["A"] >= CALLS // 4 and served["B"] >= CALLS // 4, served
