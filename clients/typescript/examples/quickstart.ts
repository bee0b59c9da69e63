// Quickstart: create an identity with a service key and read it back.
//
//   ROSTER_KEY=rsk_... npm run quickstart -- [127.0.0.1:50051]
import { Code, IdentityState, createRosterClient, errorDetails } from "../src/index.js";

const target = process.argv[2] ?? "127.0.0.1:50051";
const roster = createRosterClient(target, process.env.ROSTER_KEY);

const created = await roster.identity.createIdentity({ identity: { displayName: "Ada Lovelace" } });
const got = await roster.identity.getIdentity({ identityId: created.identityId });
console.log("identity", got.identityId, JSON.stringify(got.displayName), IdentityState[got.state]);

// Errors carry google.rpc details: which field was wrong, and why.
try {
  await roster.identity.getIdentity({ identityId: "bad" });
} catch (err) {
  const details = errorDetails(err);
  for (const v of details.fieldViolations) console.log(`${Code[details.code]}: ${v.field}: ${v.description}`);
}
