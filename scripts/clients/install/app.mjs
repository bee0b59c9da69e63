// A package that depends on @roster-dev/roster-client, installed from the
// packed .tgz (plain JavaScript, ESM).
import assert from "node:assert/strict";
import { ErrorReason, Reason, VERSION, createRosterClient, errorDetails } from "@roster-dev/roster-client";
import { GetIdentityRequestSchema } from "@roster-dev/roster-client/gen/roster/v1/identity_pb";

assert.equal(VERSION, process.env.ROSTER_SDK_VERSION);
assert.ok(GetIdentityRequestSchema, "subpath export of the generated code");
const roster = createRosterClient(process.env.ROSTER_SMOKE_TARGET, process.env.ROSTER_SMOKE_KEY);
const created = await roster.identity.createIdentity({ identity: { displayName: "Installed TypeScript" } });
const got = await roster.identity.getIdentity({ identityId: created.identityId });
assert.equal(got.displayName, "Installed TypeScript");
const err = await roster.identity.getIdentity({ identityId: "bad" }).then(
  () => assert.fail("GetIdentity(bad) succeeded"),
  (e) => e,
);
const details = errorDetails(err);
assert.equal(details.errorInfo?.reason, Reason.INVALID_ARGUMENT);
assert.equal(ErrorReason[ErrorReason.INVALID_ARGUMENT], Reason.INVALID_ARGUMENT);
console.log(`ok   typescript @roster-dev/roster-client ${VERSION}: identity ${created.identityId}`);
