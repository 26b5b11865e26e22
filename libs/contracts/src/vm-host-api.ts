import { z } from 'zod';
import { ObjectName, RevisionName } from './primitives.js';

// The host-facing HTTP API of the vm-bridge (vm-agent <-> vm-bridge): one schema per request and response,
// used by the server for validation and OpenAPI and by the vm-agent to check what it is answered.

/** What the agent is doing right now; anything but `idle` means the host's proxy may be unavailable. */
export const AgentPhase = {
  Idle: 'idle',
  Downloading: 'downloading',
  Installing: 'installing',
  Switching: 'switching',
  Restarting: 'restarting',
  Checking: 'checking',
  Reverting: 'reverting',
} as const;
export type AgentPhase = (typeof AgentPhase)[keyof typeof AgentPhase];

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 digest');

/** Where to get a version's bundle and what it must hash to. */
export const BundleRef = z.object({
  /** `http(s)://...`, `file://...` or an absolute local path (a `.tar.gz` file or a directory) */
  url: z.string().min(1),
  sha256: Sha256Hex,
  /** digest of the proxy configuration inside the bundle; changes even when the binary does not */
  configDigest: z.string().min(1),
});
export type BundleRef = z.infer<typeof BundleRef>;

/** `GET /v1/hosts/{host}/desired`: the version this host should run now. */
export const HostDesired = z.object({
  host: ObjectName,
  group: ObjectName,
  /** null: the bridge has no opinion yet, the host keeps what it runs */
  version: RevisionName.nullable(),
  bundle: BundleRef.nullable(),
  /** which assignment of this host this is; the agent echoes it in its reports */
  assignment: z.number().int().nonnegative(),
  /** same value as the ETag header */
  etag: z.string(),
  /**
   * W3C traceparent of the rollout step that assigned this version: the agent's work and reports for it join
   * the rollout's trace (absent when the command carried none)
   */
  traceparent: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional(),
});
export type HostDesired = z.infer<typeof HostDesired>;

/** The longest a host's long poll waits; a server's idle timeout must outlast it. */
export const LONG_POLL_MAX_SECONDS = 120;

export const HostDesiredQuery = z.object({
  /** long-poll: when If-None-Match still matches, wait up to this long for a change, then answer 304 */
  waitSeconds: z.coerce.number().int().min(0).max(LONG_POLL_MAX_SECONDS).default(0),
});

/** `POST /v1/hosts/{host}/report`: what the host runs and whether its proxy is ready. */
export const HostReportBody = z.object({
  runningVersion: RevisionName.nullable(),
  healthy: z.boolean(),
  phase: z.enum(Object.values(AgentPhase) as [AgentPhase, ...AgentPhase[]]).default(AgentPhase.Idle),
  lastError: z.string().max(2000).optional(),
  /** the version the agent refused or switched back from (readiness failed, checksum mismatch, ...) */
  failedVersion: RevisionName.optional(),
  /** the version the agent is moving to while phase is not idle */
  targetVersion: RevisionName.optional(),
  /** the `assignment` of the desired state the agent last acted on */
  assignment: z.number().int().nonnegative().optional(),
});
export type HostReportBody = z.infer<typeof HostReportBody>;

export const HostReportAck = z.object({ accepted: z.boolean() });

/** `POST /v1/groups/{group}/hosts`: a host enrolls itself with the group's enrollment token. */
export const HostRegistrationBody = z.object({
  host: ObjectName,
  /** sha256 of the bearer token the host will use; the token itself never leaves the host */
  tokenSha256: Sha256Hex,
  runningVersion: RevisionName.nullable().default(null),
});
export type HostRegistrationBody = z.infer<typeof HostRegistrationBody>;

export const HostRegistrationResult = z.object({
  host: ObjectName,
  group: ObjectName,
  result: z.enum(['created', 'unchanged']),
});
export type HostRegistrationResult = z.infer<typeof HostRegistrationResult>;

/** `DELETE /v1/groups/{group}/hosts/{host}` (with the group's enrollment token): the host is taken out. */
export const HostRemovalResult = z.object({
  host: ObjectName,
  group: ObjectName,
  /** `absent`: there was no such host (removal is idempotent) */
  result: z.enum(['removed', 'absent']),
});
export type HostRemovalResult = z.infer<typeof HostRemovalResult>;

export const HostParams = z.object({ host: ObjectName });
export const GroupHostParams = z.object({ group: ObjectName, host: ObjectName });
export const GroupParams = z.object({ group: ObjectName });

export const HostApiErrorBody = z.object({
  code: z.string(),
  message: z.string(),
  /** field path for validation errors */
  path: z.string().optional(),
});
export type HostApiErrorBody = z.infer<typeof HostApiErrorBody>;
