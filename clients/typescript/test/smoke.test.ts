// End-to-end smoke test against a running Roster server; skipped unless
// ROSTER_SMOKE_TARGET (host:port) and ROSTER_SMOKE_KEY (a service key) are
// set. scripts/clients-test.sh starts a server and sets both.
// ROSTER_SMOKE_PENDING_OK=1 turns an UNIMPLEMENTED answer into a skip of the
// remaining steps (for servers that do not implement every service yet).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Code,
  ConnectError,
  EventType,
  IdentityState,
  Plan,
  Reason,
  createRosterClient,
  errorDetails,
  type RosterClient,
} from "../src/index.js";
import { readFileSync } from "node:fs";

const target = process.env.ROSTER_SMOKE_TARGET ?? "";
const key = process.env.ROSTER_SMOKE_KEY ?? "";

class Pending extends Error {}

async function step<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    console.log(`ok   ${name}`);
    return result;
  } catch (err) {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Unimplemented && process.env.ROSTER_SMOKE_PENDING_OK === "1") {
      throw new Pending(`PENDING ${name}: ${ce.rawMessage}`);
    }
    throw new Error(`FAIL ${name}: ${ce.message}`, { cause: err });
  }
}

test("smoke", { skip: !(target && key) && "ROSTER_SMOKE_TARGET / ROSTER_SMOKE_KEY not set" }, async (t) => {
  try {
    await smoke((token) => createRosterClient(target, token));
  } catch (err) {
    if (err instanceof Pending) return t.skip(err.message);
    throw err;
  }
});

// The same once over mutual TLS, against a server with a test CA
// (scripts/clients-test.sh: ROSTER_MTLS_TARGET, _CA, _CERT, _KEY).
const mtlsTarget = process.env.ROSTER_MTLS_TARGET ?? "";
test("smoke over mTLS", { skip: !(mtlsTarget && key) && "ROSTER_MTLS_TARGET not set (no TLS server)" }, async () => {
  const ca = readFileSync(process.env.ROSTER_MTLS_CA ?? "");
  const tls = { ca, cert: readFileSync(process.env.ROSTER_MTLS_CERT ?? ""), key: readFileSync(process.env.ROSTER_MTLS_KEY ?? "") };
  await smoke((token) => createRosterClient(`https://${mtlsTarget}`, token, { tls }));
  const noCert = createRosterClient(`https://${mtlsTarget}`, key, { tls: { ca }, retry: false });
  const err = await noCert.identity.getIdentity({ identityId: "AB12CD34" }, { timeoutMs: 10_000 }).then(
    () => assert.fail("a client without a certificate was served"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.notEqual(err.code, Code.Unauthenticated, `refused at the TLS layer, not by the token check: ${err.message}`);
  console.log(`ok   mTLS: no client certificate -> ${Code[err.code]}`);
});

async function smoke(connect: (token?: string) => RosterClient): Promise<void> {
  const svc = connect(key);
  const anon = connect();

  const ident = await step("CreateIdentity", () =>
    svc.identity.createIdentity({ identity: { displayName: "Smoke TypeScript" } }),
  );
  const id = ident.identityId;

  const pkg = await step("CreateLicensePackage (ENTERPRISE)", () =>
    svc.license.createLicensePackage({
      licensePackage: { displayName: "Smoke TypeScript", plan: Plan.ENTERPRISE, seatLimit: 10, adminIdentityIds: [id] },
    }),
  );

  const username = `smoke-ts-${Date.now()}-${process.pid}`;
  const cred = await step("IssueCredential", () =>
    svc.license.issueCredential({ packageId: pkg.packageId, username }),
  );
  assert.ok(cred.password, "IssueCredential returned no generated password");

  const signedIn = await step("SignIn", () =>
    anon.identity.signIn({ identityId: id, username, password: cred.password }),
  );
  const me = connect(signedIn.sessionToken);

  // Rich error details: decode grpc-status-details-bin as google.rpc.Status.
  const err = await svc.identity.getIdentity({ identityId: "bad" }).then(
    () => assert.fail("GetIdentity(bad) succeeded"),
    (e: unknown) => e,
  );
  const details = errorDetails(err);
  assert.equal(details.code, Code.InvalidArgument, `want INVALID_ARGUMENT, got ${ConnectError.from(err).message}`);
  const fields = details.fieldViolations.map((v) => v.field);
  assert.ok(fields.includes("identity_id"), `no violation for identity_id: ${JSON.stringify(fields)}`);
  assert.equal(details.errorInfo?.domain, "roster.dev");
  assert.equal(details.errorInfo?.reason, Reason.INVALID_ARGUMENT);
  console.log(`ok   GetIdentity(bad) -> INVALID_ARGUMENT ${fields.join(",")} reason=${details.errorInfo?.reason}`);

  const org = await step("CreateOrganization", () =>
    svc.membership.createOrganization({
      organization: { displayName: "Smoke TypeScript", packageId: pkg.packageId },
      adminIdentityId: id,
    }),
  );

  const access = await step("CheckAccess", () =>
    svc.membership.checkAccess({ identityId: id, organizationId: org.organizationId }),
  );
  assert.ok(access.allowed, `CheckAccess denied: ${access.denialReason}`);

  const abort = new AbortController();
  let headersSeen!: () => void;
  const headers = new Promise<void>((resolve) => (headersSeen = resolve));
  const stream = svc.events.watchEvents(
    { filter: { identityId: id } },
    { signal: abort.signal, onHeader: () => headersSeen() },
  );
  const iterator = stream[Symbol.asyncIterator]();
  // Pull the first message in the background; response headers mean the
  // server has set up the stream ("from now").
  let next = iterator.next();
  await step("WatchEvents", () => Promise.race([headers, next.then(() => undefined)]));

  const revoked = await step("RevokeIdentity (own session)", () =>
    me.identity.revokeIdentity({ identityId: id }),
  );
  assert.equal(revoked.state, IdentityState.REVOKED);

  const timer = setTimeout(() => abort.abort(), 5000); // the event must arrive within 5s
  try {
    await step("WatchEvents -> IDENTITY_REVOKED", async () => {
      for (;;) {
        const { value, done } = await next;
        if (done) throw new Error("stream ended without an IDENTITY_REVOKED event");
        if (value.event?.type === EventType.IDENTITY_REVOKED) {
          assert.equal(value.event.identityId, id);
          return;
        }
        next = iterator.next();
      }
    });
  } catch (e) {
    if (abort.signal.aborted) throw new Error("FAIL WatchEvents: no IDENTITY_REVOKED event within 5s", { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
