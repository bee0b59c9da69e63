/**
 * TypeScript client for the Roster gRPC API, on Connect for Node speaking
 * gRPC over HTTP/2.
 *
 *   import { createRosterClient } from "@roster-dev/roster-client";
 *   const roster = createRosterClient("127.0.0.1:50051", process.env.ROSTER_KEY);
 *   const identity = await roster.identity.getIdentity({ identityId: "AB12CD34" });
 *
 * Generated messages and service descriptors: "@roster-dev/roster-client/gen/roster/v1/<file>_pb".
 */
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { EventService } from "./gen/roster/v1/events_pb.js";
import { IdentityService } from "./gen/roster/v1/identity_pb.js";
import { LicenseService } from "./gen/roster/v1/license_pb.js";
import { MembershipService } from "./gen/roster/v1/membership_pb.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  type BadRequest_FieldViolation,
  type ErrorInfo,
} from "./gen/google/rpc/error_details_pb.js";
import serviceConfig from "./gen/service_config.json" with { type: "json" };

export * from "./gen/roster/v1/common_pb.js";
export * from "./gen/roster/v1/events_pb.js";
export * from "./gen/roster/v1/identity_pb.js";
export * from "./gen/roster/v1/license_pb.js";
export * from "./gen/roster/v1/membership_pb.js";
export { Code, ConnectError };

/** Deadline for unary calls made without `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RosterClientOptions {
  /** Deadline for unary calls without their own `timeoutMs` (0: none). Streams get none. */
  defaultTimeoutMs?: number;
  /** Retry read-only unary RPCs on UNAVAILABLE (clients/service_config.json). Default true. */
  retry?: boolean;
  /** Extra interceptors, run after the bearer token is added. */
  interceptors?: Interceptor[];
}

/** Typed clients for the four Roster services on one HTTP/2 connection. */
export interface RosterClient {
  identity: Client<typeof IdentityService>;
  license: Client<typeof LicenseService>;
  membership: Client<typeof MembershipService>;
  events: Client<typeof EventService>;
  transport: Transport;
}

/**
 * Creates clients for a Roster server.
 *
 * @param target "host:port" (plaintext, as on loopback or in a cluster) or a
 *   URL ("https://roster.example.com" for TLS).
 * @param token a service key or a session token from SignIn, sent as
 *   `authorization: Bearer <token>`; omit to call only SignIn.
 */
export function createRosterClient(target: string, token?: string, options: RosterClientOptions = {}): RosterClient {
  const baseUrl = /^[a-z]+:\/\//i.test(target) ? target : `http://${target}`;
  const interceptors: Interceptor[] = [];
  if (token) interceptors.push(bearer(token));
  if (options.retry ?? true) interceptors.push(retryUnavailable());
  interceptors.push(...(options.interceptors ?? []));
  const grpc = createGrpcTransport({ baseUrl, interceptors });
  const transport = withUnaryDefaultTimeout(grpc, options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  return {
    identity: createClient(IdentityService, transport),
    license: createClient(LicenseService, transport),
    membership: createClient(MembershipService, transport),
    events: createClient(EventService, transport),
    transport,
  };
}

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    if (!req.header.has("authorization")) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

// Read-only unary methods that the shared service config retries on
// UNAVAILABLE; mutations are never retried, so nothing is applied twice.
interface RetryPolicy {
  maxAttempts: number;
  initialBackoff: string;
  maxBackoff: string;
  backoffMultiplier: number;
  retryableStatusCodes: string[];
}
const retryPolicies = new Map<string, RetryPolicy>();
for (const mc of serviceConfig.methodConfig as Array<{ name: Array<{ service: string; method?: string }>; retryPolicy?: RetryPolicy }>) {
  if (!mc.retryPolicy) continue;
  for (const n of mc.name) if (n.method) retryPolicies.set(`${n.service}/${n.method}`, mc.retryPolicy);
}
const seconds = (s: string) => parseFloat(s) * 1000;

function retryUnavailable(): Interceptor {
  return (next) => async (req) => {
    const policy = retryPolicies.get(`${req.service.typeName}/${req.method.name}`);
    if (req.stream || !policy) return next(req);
    let backoff = seconds(policy.initialBackoff);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (err) {
        const ce = ConnectError.from(err);
        if (ce.code !== Code.Unavailable || attempt >= policy.maxAttempts || req.signal.aborted) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * backoff));
        backoff = Math.min(backoff * policy.backoffMultiplier, seconds(policy.maxBackoff));
      }
    }
  };
}

function withUnaryDefaultTimeout(t: Transport, ms: number): Transport {
  if (ms <= 0) return t;
  return {
    unary: (method, signal, timeoutMs, header, message, contextValues) =>
      t.unary(method, signal, timeoutMs ?? ms, header, message, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      t.stream(method, signal, timeoutMs, header, input, contextValues),
  };
}

/** What a failed call carries beyond its status code (google.rpc.Status details). */
export interface RosterErrorDetails {
  code: Code;
  message: string;
  /** google.rpc.BadRequest field violations (field path, description, ...). */
  fieldViolations: BadRequest_FieldViolation[];
  /** google.rpc.ErrorInfo (domain "roster.dev"), when present. */
  errorInfo?: ErrorInfo;
}

/**
 * Decodes the `grpc-status-details-bin` trailer (a binary google.rpc.Status)
 * of a failed call into its BadRequest and ErrorInfo details.
 */
export function errorDetails(err: unknown): RosterErrorDetails {
  const ce = ConnectError.from(err);
  const out: RosterErrorDetails = { code: ce.code, message: ce.rawMessage, fieldViolations: [] };
  const raw = ce.metadata.get("grpc-status-details-bin");
  if (raw) {
    const status = fromBinary(StatusSchema, Buffer.from(raw, "base64"));
    for (const any of status.details) {
      const bad = anyUnpack(any, BadRequestSchema);
      if (bad) out.fieldViolations.push(...bad.fieldViolations);
      out.errorInfo ??= anyUnpack(any, ErrorInfoSchema);
    }
  } else {
    // Other protocols (Connect, gRPC-Web) deliver the same details decoded.
    for (const bad of ce.findDetails(BadRequestSchema)) out.fieldViolations.push(...bad.fieldViolations);
    out.errorInfo = ce.findDetails(ErrorInfoSchema)[0];
  }
  return out;
}
