// round_robin by default: calls spread over every address of the target.
// ROSTER_LB_A and ROSTER_LB_B are two Roster servers with separate databases
// (scripts/clients-test.sh starts them); an identity created on A alone is
// found by the calls A answers and NOT_FOUND on B.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError, createRosterClient } from "../src/index.js";

const a = process.env.ROSTER_LB_A ?? "";
const b = process.env.ROSTER_LB_B ?? "";
const key = process.env.ROSTER_SMOKE_KEY ?? "";
const CALLS = 40;

test("round_robin spreads calls over both replicas", { skip: !(a && b && key) && "ROSTER_LB_A / ROSTER_LB_B not set" }, async () => {
  const ident = await createRosterClient(a, key).identity.createIdentity({ identity: { displayName: "LB probe" } });
  const both = createRosterClient(`${a},${b}`, key);
  const served = { A: 0, B: 0 };
  for (let i = 0; i < CALLS; i++) {
    try {
      await both.identity.getIdentity({ identityId: ident.identityId });
      served.A++;
    } catch (err) {
      assert.equal(ConnectError.from(err).code, Code.NotFound, String(err));
      served.B++;
    }
  }
  console.log(`ok   round_robin over 2 replicas, ${CALLS} calls: ${JSON.stringify(served)}`);
  assert.ok(served.A >= CALLS / 4 && served.B >= CALLS / 4, JSON.stringify(served));
});
