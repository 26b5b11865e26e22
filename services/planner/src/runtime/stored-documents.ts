// One zod schema per document the planner stores (see store-layout.ts): a document is parsed when it is read,
// never cast, so a document of another shape (an older planner, a hand edit) fails where it is read, by name.
import {
  Burndown,
  FreezeStatus,
  GateVerdict,
  Inventory,
  InventoryDelta,
  InventoryReport,
  RolloutPhase,
  TransitionRecord,
  UnitProgress,
  VmInventoryReport,
  VmProgress,
  WavePhase,
  type Plan,
  type RolloutSpec,
} from '@meshwave/contracts';
import { z } from 'zod';
import { PlannerError, PlannerErrorCode } from '../errors.js';

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `rollout`: what never changes once a rollout is created. Its spec and plan were validated by their contract
 * schemas when the rollout was created and are stored as those schemas' output (durations in seconds, percents
 * resolved), which the input schemas do not accept again; so they are checked as objects here, not re-parsed
 * on every reconcile.
 */
export const StoredRolloutRecord = z.object({
  id: z.string(),
  spec: z.custom<RolloutSpec>(isObject, 'the rollout spec must be an object'),
  plan: z.custom<Plan>(isObject, 'the plan must be an object'),
  createdAt: z.string(),
  createdBy: z.string(),
  notBefore: z.array(z.string().nullable()),
  traceparent: z.string().optional(),
});

/** What the planner last sent one target. */
const StoredTargetRecord = z.object({
  generation: z.number().int(),
  digest: z.string(),
  sentAt: z.string(),
  epoch: z.number().int(),
  resends: z.number().int().nonnegative().optional(),
  ackedAt: z.string().optional(),
});

/** `state`: the engine's mutable state of one rollout (see RolloutState for each field's meaning). */
export const StoredRolloutState = z.object({
  phase: z.enum(RolloutPhase),
  wavePhase: z.enum(WavePhase).optional(),
  wave: z.number().int().nonnegative(),
  reason: z.string(),
  dispatchedWaves: z.number().int().nonnegative(),
  rolledBackWaves: z.array(z.number().int()),
  rollbackAll: z.boolean(),
  rollbackScope: z.enum(['wave', 'all']).optional(),
  waveDispatchedAt: z.string().optional(),
  soakStartedAt: z.string().optional(),
  gateRetryAt: z.string().optional(),
  inconclusive: z.object({ since: z.string(), count: z.number().int().nonnegative() }).optional(),
  pausedFrom: z.object({ phase: z.enum(RolloutPhase), wavePhase: z.enum(WavePhase).optional() }).optional(),
  approvedWaves: z.array(z.number().int()),
  excluded: z.array(z.string()),
  retries: z.record(z.string(), z.number().int().positive()).optional(),
  membership: z
    .object({
      snapshots: z.record(z.string(), z.array(z.string())),
      added: z.record(z.string(), z.array(z.string())),
      skipped: z.record(z.string(), z.array(z.string())),
      unreachable: z.record(z.string(), z.string()),
    })
    .optional(),
  deadlineTrack: Burndown.extend({ checkedAt: z.string() }).optional(),
  emergencyInBlackout: z.string().optional(),
  generation: z.number().int(),
  targets: z.record(z.string(), StoredTargetRecord),
  verdicts: z.array(GateVerdict),
  history: z.array(TransitionRecord),
  historyDropped: z.number().int().nonnegative().optional(),
  updatedAt: z.string(),
  epoch: z.number().int().nonnegative().optional(),
});

/** `report/cluster/<cluster>` and `report/vmgroup/<group>`: the newest report per target, as the contract has it. */
export const StoredClusterReport = UnitProgress;
export const StoredVmGroupReport = VmProgress;

/** `trace/wave/<n>`: the W3C trace context of a wave's root span. */
export const StoredWaveTrace = z.object({ traceparent: z.string().optional() });

/** `inventory/base` (fleet scope): the operator's base inventory. */
export const StoredBaseInventory = Inventory;

/** `inventory/cluster/<name>` (fleet scope): an agent's inventory report and when it arrived. */
export const StoredInventoryCluster = z.object({ report: InventoryReport, receivedAt: z.string() });
export type StoredInventoryCluster = z.infer<typeof StoredInventoryCluster>;

/** `inventory/head/<name>` (fleet scope): what the cluster's snapshot and journal hold (ADR 0079, `InventoryHead`). */
export const StoredInventoryHead = z.object({
  generation: z.number().int().nonnegative(),
  snapshotGeneration: z.number().int().nonnegative(),
  journal: z.array(z.number().int().nonnegative()),
  snapshotSize: z.number().int().nonnegative(),
  journalSize: z.number().int().nonnegative(),
  receivedAt: z.string(),
});
export type StoredInventoryHead = z.infer<typeof StoredInventoryHead>;

/** `inventory/delta/<name>/<generation>` (fleet scope): a delta of the cluster's journal (ADR 0079). */
export const StoredInventoryDelta = z.object({ delta: InventoryDelta, receivedAt: z.string() });
export type StoredInventoryDelta = z.infer<typeof StoredInventoryDelta>;

/** `vmgroup/<name>` (fleet scope): the versions a VM group's hosts run. */
export const StoredVmGroup = z.object({
  group: z.string(),
  hosts: z.array(z.object({ name: z.string(), version: z.string().nullable() })),
  receivedAt: z.string(),
});
export type StoredVmGroup = z.infer<typeof StoredVmGroup>;

/** `vmmembers/<name>` (fleet scope): a VM group's hosts as its vm-bridge reported them, and when it arrived. */
export const StoredVmMembership = z.object({ report: VmInventoryReport, receivedAt: z.string() });
export type StoredVmMembership = z.infer<typeof StoredVmMembership>;

/** `fleet/freeze`: the fleet-wide freeze (or its last lift), as `GET /v1/freeze` shows it. */
export const StoredFreeze = FreezeStatus;

/** One admitted rollout; `epoch` is the leader epoch that admitted it (to tell a failed creation from one in flight). */
export const AdmittedRollout = z.object({ name: z.string(), epoch: z.number().int().nonnegative() });
export type AdmittedRollout = z.infer<typeof AdmittedRollout>;

/** `registry` (admission scope): rollouts admitted and not known to have ended. */
export const AdmissionRegistry = z.object({ rollouts: z.record(z.string(), AdmittedRollout) });

/**
 * `era` (`meshwave` scope): written by the first leader into an empty store. A replica that saw it and finds it
 * gone (or another in its place) knows the store lost its data, and stops acting (ADR 0025).
 */
export const StoredEra = z.object({ id: z.string().min(1), createdAt: z.string(), createdBy: z.string() });
export type StoredEra = z.infer<typeof StoredEra>;

/**
 * The document's value parsed by its schema. A document that does not match is a STORED_DOCUMENT_INVALID error
 * naming it and its first problems (retrying cannot fix it).
 */
export function parseStored<S extends z.ZodType>(
  schema: S,
  doc: { readonly value: unknown },
  name: string,
): z.infer<S> {
  const result = schema.safeParse(doc.value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new PlannerError(PlannerErrorCode.StoredDocumentInvalid, `stored document ${name} is invalid: ${problems}`, {
    context: { document: name },
  });
}

/** As `parseStored`; undefined when there is no document. */
export function parseStoredIfAny<S extends z.ZodType>(
  schema: S,
  doc: { readonly value: unknown } | undefined,
  name: string,
): z.infer<S> | undefined {
  return doc === undefined ? undefined : parseStored(schema, doc, name);
}
