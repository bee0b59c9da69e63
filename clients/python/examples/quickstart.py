"""Quickstart: create an identity with a service key and read it back.

    ROSTER_KEY=rsk_... python examples/quickstart.py [127.0.0.1:50051]
"""

import os
import sys

import grpc

import roster_client
from roster_client.v1 import identity_pb2

target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"

with roster_client.connect(target, os.environ["ROSTER_KEY"]) as client:
    created = client.identity.CreateIdentity(
        identity_pb2.CreateIdentityRequest(identity=identity_pb2.Identity(display_name="Ada Lovelace"))
    )
    got = client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id=created.identity_id))
    print("identity", got.identity_id, repr(got.display_name), identity_pb2.IdentityState.Name(got.state))

    # Errors carry google.rpc details: which field was wrong, and why.
    try:
        client.identity.GetIdentity(identity_pb2.GetIdentityRequest(identity_id="bad"))
    except grpc.RpcError as err:
        details = roster_client.error_details(err)
        for field, why in details.field_violations.items():
            print(f"{details.code.name}: {field}: {why}")
