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
import { createGrpcTransport, type GrpcTransportOptions } from "@connectrpc/connect-node";
import { lookup } from "node:dns/promises";
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
import { ErrorReason } from "./gen/roster/v1/errors_pb.js";
import serviceConfig from "./gen/service_config.json" with { type: "json" };

export * from "./gen/roster/v1/common_pb.js";
export * from "./gen/roster/v1/errors_pb.js";
export * from "./gen/roster/v1/events_pb.js";
export * from "./gen/roster/v1/identity_pb.js";
export * from "./gen/roster/v1/license_pb.js";
export * from "./gen/roster/v1/membership_pb.js";
export { Code, ConnectError };

/** Version of this SDK (the repository's VERSION file; scripts/clients/version-check.sh). */
export const VERSION = "0.1.0";

/** An ErrorInfo reason string the server sends, e.g. "SEAT_LIMIT_REACHED". */
export type Reason = Exclude<keyof typeof ErrorReason, "UNSPECIFIED">;

/**
 * The reason codes as constants, built from the proto enum roster.v1.ErrorReason
 * (so they cannot drift from it): `Reason.SEAT_LIMIT_REACHED === "SEAT_LIMIT_REACHED"`,
 * the string in `errorDetails(err).errorInfo?.reason`.
 */
export const Reason: { readonly [K in Reason]: K } = Object.freeze(
  Object.fromEntries(
    Object.keys(ErrorReason)
      .filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED")
      .map((k) => [k, k]),
  ) as { [K in Reason]: K },
);

/** Deadline for unary calls made without `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RosterClientOptions {
  /** Deadline for unary calls without their own `timeoutMs` (0: none). Streams get none. */
  defaultTimeoutMs?: number;
  /** Retry read-only unary RPCs on UNAVAILABLE (clients/service_config.json). Default true. */
  retry?: boolean;
  /** Extra interceptors, run after the bearer token is added. */
  interceptors?: Interceptor[];
  /**
   * "round_robin" (default, as the service config of the other SDKs): every
   * address the target's host names resolve to gets its own HTTP/2
   * connection and calls rotate over them; names are resolved again every
   * `resolveIntervalMs`. "pick_first": one connection to the target as given.
   */
  loadBalancing?: "round_robin" | "pick_first";
  /** How often round_robin re-resolves the target's names (default 30 s). */
  resolveIntervalMs?: number;
  /**
   * TLS: the CA bundle to trust (PEM), and for mutual TLS the client
   * certificate chain and key (PEM). Setting any of them implies https.
   */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string };
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
 * @param target "host:port" (plaintext, as on loopback or in a cluster),
 *   "dns:///host:port", a comma-separated list "a:50051,b:50051", or a URL
 *   ("https://roster.example.com" for TLS).
 * @param token a service key or a session token from SignIn, sent as
 *   `authorization: Bearer <token>`; omit to call only SignIn.
 */
export function createRosterClient(target: string, token?: string, options: RosterClientOptions = {}): RosterClient {
  const interceptors: Interceptor[] = [];
  if (token) interceptors.push(bearer(token));
  if (options.retry ?? true) interceptors.push(retryUnavailable());
  interceptors.push(...(options.interceptors ?? []));
  const endpoints = parseTarget(target, options.tls !== undefined);
  const make = (baseUrl: string, servername: string) =>
    createGrpcTransport({ baseUrl, interceptors, nodeOptions: nodeOptions(options.tls, servername) });
  const grpc =
    (options.loadBalancing ?? "round_robin") === "round_robin"
      ? roundRobin(endpoints, make, options.resolveIntervalMs ?? 30_000)
      : make(endpoints.url, endpoints.hosts[0]?.host ?? "");
  const transport = withUnaryDefaultTimeout(grpc, options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  return {
    identity: createClient(IdentityService, transport),
    license: createClient(LicenseService, transport),
    membership: createClient(MembershipService, transport),
    events: createClient(EventService, transport),
    transport,
  };
}

interface Endpoints {
  scheme: "http" | "https";
  /** The target as one URL (pick_first). */
  url: string;
  /** Every host:port the target names ("a:1,b:2" or "dns:///name:port" or a URL). */
  hosts: Array<{ host: string; port: string }>;
}

function parseTarget(target: string, tls: boolean): Endpoints {
  const url = /^https?:\/\//i.exec(target);
  let scheme: "http" | "https" = tls ? "https" : "http";
  let rest = target;
  if (url) {
    scheme = url[0].toLowerCase().startsWith("https") ? "https" : "http";
    rest = target.slice(url[0].length).replace(/\/.*$/, "");
  } else {
    rest = rest.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, "");
  }
  const hosts = rest.split(",").map((hp) => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(hp.trim());
    return { host: m?.[1] ?? hp, port: m?.[2] ?? (scheme === "https" ? "443" : "80") };
  });
  const first = hosts[0] ?? { host: "127.0.0.1", port: "50051" };
  return { scheme, hosts, url: url ? target : `${scheme}://${hostPort(first.host, first.port)}` };
}

const hostPort = (host: string, port: string) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

function nodeOptions(tls: RosterClientOptions["tls"], servername: string): GrpcTransportOptions["nodeOptions"] {
  if (!tls) return undefined;
  const isIp = /^[\d.]+$|:/.test(servername);
  return { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername ?? (isIp ? undefined : servername) };
}

/**
 * Client-side round_robin (Connect has no gRPC load balancer): resolves each
 * host to all its addresses, keeps one transport (one HTTP/2 connection) per
 * address, and hands each call to the next one.
 */
function roundRobin(endpoints: Endpoints, make: (baseUrl: string, servername: string) => Transport, resolveIntervalMs: number): Transport {
  const transports = new Map<string, Transport>();
  let ring: Transport[] = [];
  let next = 0;
  let resolvedAt = -Infinity;
  let resolving: Promise<void> | undefined;
  const resolve = async () => {
    const addrs: Array<{ url: string; servername: string }> = [];
    for (const { host, port } of endpoints.hosts) {
      let ips: string[];
      try {
        ips = (await lookup(host, { all: true })).map((a) => a.address);
      } catch {
        ips = [host]; // let the connection attempt report the failure
      }
      for (const ip of ips) addrs.push({ url: `${endpoints.scheme}://${hostPort(ip, port)}`, servername: host });
    }
    ring = addrs.map((a) => {
      let t = transports.get(a.url);
      if (!t) transports.set(a.url, (t = make(a.url, a.servername)));
      return t;
    });
    resolvedAt = Date.now();
  };
  // An address that refused the connection is skipped for a while; the call
  // moves on to the next one (safe: the request never left the client).
  const downUntil = new Map<Transport, number>();
  const pick = async (): Promise<Transport> => {
    if (ring.length === 0 || Date.now() - resolvedAt > resolveIntervalMs) {
      resolving ??= resolve().finally(() => (resolving = undefined));
      if (ring.length === 0) await resolving;
    }
    const now = Date.now();
    for (let i = 0; i < ring.length; i++) {
      const t = ring[next++ % ring.length];
      if (t && (downUntil.get(t) ?? 0) <= now) return t;
    }
    const t = ring[next++ % ring.length];
    if (!t) throw new ConnectError(`no address for ${endpoints.url}`, Code.Unavailable);
    return t;
  };
  const call = async <R>(run: (t: Transport) => Promise<R>): Promise<R> => {
    for (let attempt = 1; ; attempt++) {
      const t = await pick();
      try {
        return await run(t);
      } catch (err) {
        if (!notConnected(err) || attempt >= ring.length) throw err;
        downUntil.set(t, Date.now() + 5_000);
      }
    }
  };
  return {
    unary: (method, signal, timeoutMs, header, message, contextValues) =>
      call((t) => t.unary(method, signal, timeoutMs, header, message, contextValues)),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      call((t) => t.stream(method, signal, timeoutMs, header, input, contextValues)),
  };
}

const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/** Whether a call failed because no connection could be made to the address. */
function notConnected(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECT_ERRORS.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
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
