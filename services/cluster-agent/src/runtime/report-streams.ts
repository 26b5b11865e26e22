import {
  MessageType,
  unitKey,
  UnitFailureReason,
  UnitState,
  type AmbientStepProgress,
  type GatewayStepProgress,
  type HealthReport,
  type UnitProgress,
  type UnitProgressEntry,
  type UnitRef,
} from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import { ROOT_CONTEXT, context as contextApi } from '@opentelemetry/api';
import {
  createLevelReport,
  ReportChain,
  type Clock,
  type LevelReport,
  type LevelReportOptions,
} from '@meshwave/reconcile';
import type { AgentIntervals } from '../config/agent-intervals.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { EventPublisher } from './event-publisher.js';
import type { UnitBook, UnitStatus } from './unit-book.js';

// The agent's progress and health reports: level-triggered, and sent as deltas on a chain between whole
// reports (ADR 0048), as its inventory is (ADR 0031).

const progressEntry = (s: UnitStatus): UnitProgressEntry => ({
  namespace: s.assignment.target.namespace,
  ...(s.assignment.target.kind ? { kind: s.assignment.target.kind } : {}),
  ...(s.assignment.target.name ? { name: s.assignment.target.name } : {}),
  state: s.state,
  revision: s.assignment.target.revision,
  injectedRevision: s.injectedRevision,
  ...(s.injects !== undefined ? { injects: s.injects } : {}),
  ...(s.reason ? { reason: s.reason } : {}),
  ...(s.message ? { message: s.message } : {}),
});

/** One unit's health as the report carries it. */
const healthEntry = (s: UnitStatus): HealthReport['units'][number] => ({
  namespace: s.assignment.target.namespace,
  ...(s.assignment.target.kind ? { kind: s.assignment.target.kind } : {}),
  ...(s.assignment.target.name ? { name: s.assignment.target.name } : {}),
  unavailableReplicas: s.unavailableReplicas,
  restarts: s.restarts,
  crashLooping: s.crashLooping,
  // Only a finished rollout with the wrong sidecar is a mismatch; old pods mid-restart are just old.
  sidecarMismatch: s.state === UnitState.Failed && s.reason === UnitFailureReason.SidecarMismatch,
});

/** A rollout's progress in this cluster without its units, or nothing for a rollout the ledger no longer holds. */
function progressHead(
  cluster: string,
  rolloutId: string,
  ledger: CommandLedger,
  gateways: GatewayStepProgress[] | undefined,
  ambient: AmbientStepProgress[] | undefined,
): Omit<UnitProgress, 'units'> | undefined {
  const entry = ledger.rollouts[rolloutId];
  if (!entry) return undefined;
  return {
    cluster,
    rolloutId,
    generation: entry.desired.generation,
    halted: entry.desired.halted,
    ...(gateways !== undefined ? { gateways } : {}),
    ...(ambient !== undefined ? { ambient } : {}),
  };
}

/** The progress entries of a rollout's units, from all the statuses. */
const rolloutEntries = (rolloutId: string, statuses: Iterable<UnitStatus>): UnitProgressEntry[] =>
  [...statuses].filter((s) => s.assignment.rolloutId === rolloutId).map(progressEntry);

/** A unit by name, as a delta lists the ones gone. */
const unitRef = (e: UnitRef): UnitRef => ({
  namespace: e.namespace,
  ...(e.kind !== undefined ? { kind: e.kind } : {}),
  ...(e.name !== undefined ? { name: e.name } : {}),
});

/**
 * A report as its chain says to send it (ADR 0048): whole, or a delta of the entries that changed since the
 * report the bus took last. `whole` and `delta` build the message of each kind.
 */
function chainMessage<E extends UnitRef, M>(
  chain: ReportChain<E>,
  entries: readonly E[],
  sendWhole: boolean,
  whole: (entries: readonly E[], seq: number) => M,
  delta: (d: { seq: number; base: number; upserted: E[]; removed: UnitRef[] }) => M,
  /** with it, `entries` are only those that may have changed, and this gives them all for a whole report */
  all?: () => readonly E[],
): { readonly seq: number; readonly message: M } {
  const step = all ? chain.nextChangedEntries(entries, all, sendWhole) : chain.next(entries, sendWhole);
  if (step.kind === 'whole') return { seq: step.seq, message: whole(step.entries, step.seq) };
  const { seq, base } = step;
  return { seq, message: delta({ seq, base, upserted: [...step.upserted], removed: step.removed.map(unitRef) }) };
}

/**
 * A report is the agent's own state, not a step of whichever command or watch event asked for it: it is sent
 * outside their trace (an urgent one is sent from inside the reconcile that saw the failure).
 */
export const ownReport = (options: LevelReportOptions): LevelReport =>
  createLevelReport({ ...options, send: (full) => contextApi.with(ROOT_CONTEXT, () => options.send(full)) });

/**
 * Publishes progress; a failed publish is retried as a full one, and the rollouts it carried go back to the
 * dirty set too, since a full one carries only the rollouts with units here (not one whose units were all
 * excluded, say).
 */
async function publishKeepingDirty(
  publish: EventPublisher['publish'],
  messages: OutgoingMessage[],
  book: Pick<UnitBook, 'dirtyRollouts'>,
  rolloutIds: ReadonlySet<string>,
): Promise<boolean> {
  const keep = (): void => {
    for (const id of rolloutIds) book.dirtyRollouts.add(id);
  };
  const sent = await publish(messages).catch((error: unknown) => {
    keep();
    throw error;
  });
  if (!sent) keep();
  return sent;
}

/**
 * Stamps each health report (ADR 0038): a generation that grows across restarts without storage (the clock in ms,
 * or the last one + 1) and when it was observed, so the planner can refuse a replayed or stale one.
 */
function newHealthStamp(clock: Clock): () => Pick<HealthReport, 'generation' | 'observedAt'> {
  let generation = 0;
  return () => {
    const now = clock.now();
    generation = Math.max(generation + 1, now);
    return { generation, observedAt: new Date(now).toISOString() };
  };
}

/** A report stream of the agent: its level report, and a way to make its next send a whole report. */
export interface ReportStream {
  readonly updates: LevelReport;
  /** the planner missed a delta: the next send is whole */
  wholeDue(): void;
}

interface StreamOptions {
  readonly cluster: string;
  readonly book: UnitBook;
  readonly clock: Clock;
  readonly intervals: Pick<AgentIntervals, 'reportResendMs' | 'healthMs'>;
  readonly publisher: EventPublisher;
}

/**
 * Each rollout's progress: on change (debounced by the caller; a failure at once), a delta of the units that
 * changed since the report the bus took last; whole at first, after a failed send, when the planner asks, and
 * every `reportResendMs` (the level-triggered resend: a lost delta is made up for at that rate at the latest).
 */
export function createProgressStream(
  options: StreamOptions & {
    readonly ledger: () => CommandLedger;
    readonly gatewayProgress?: (rolloutId: string) => GatewayStepProgress[] | undefined;
    readonly ambientProgress?: (rolloutId: string) => AmbientStepProgress[] | undefined;
    readonly seq: () => number;
  },
): ReportStream {
  const { cluster, book, publisher } = options;
  const chains = new Map<string, ReportChain<UnitProgressEntry>>();
  let wholeDue = false;
  /**
   * One rollout's report: compared whole when `statuses` are given (a whole report, or units may have gone),
   * else as a delta of the `changed` units alone (ADR 0064).
   */
  const progressOf = (
    id: string,
    sendWhole: boolean,
    statuses: readonly UnitStatus[] | undefined,
    changed: ReadonlySet<string> | undefined,
  ) => {
    const head = progressHead(
      cluster,
      id,
      options.ledger(),
      options.gatewayProgress?.(id),
      options.ambientProgress?.(id),
    );
    if (head === undefined) {
      chains.delete(id);
      return undefined;
    }
    let chain = chains.get(id);
    if (chain === undefined) {
      chain = new ReportChain<UnitProgressEntry>(unitKey, options.seq);
      chains.set(id, chain);
    }
    const whole = (entries: readonly UnitProgressEntry[], seq: number) =>
      publisher.event(MessageType.UnitProgress, { ...head, units: [...entries], seq });
    const delta = (d: { seq: number; base: number; upserted: UnitProgressEntry[]; removed: UnitRef[] }) =>
      publisher.event(MessageType.UnitProgressDelta, { ...head, ...d });
    const step =
      statuses !== undefined
        ? chainMessage(chain, rolloutEntries(id, statuses), sendWhole, whole, delta)
        : chainMessage(chain, changedEntries(id, changed), sendWhole, whole, delta, () =>
            rolloutEntries(id, book.statuses.values()),
          );
    return { ...step, chain };
  };
  /** the entries of a rollout's changed units (a unit gone or moved to another rollout makes the ledger regrouped) */
  const changedEntries = (id: string, changed: ReadonlySet<string> | undefined): UnitProgressEntry[] => {
    const entries: UnitProgressEntry[] = [];
    for (const key of changed ?? []) {
      const s = book.statuses.get(key);
      if (s?.assignment.rolloutId === id) entries.push(progressEntry(s));
    }
    return entries;
  };
  /** the rollouts whose units this agent holds now: what a full progress report covers */
  const heldRollouts = (): Set<string> => new Set([...book.statuses.values()].map((s) => s.assignment.rolloutId));
  const updates = ownReport({
    clock: options.clock,
    resendMs: options.intervals.reportResendMs,
    send: async (full) => {
      const sendWhole = full || wholeDue;
      wholeDue = false;
      const rolloutIds = new Set(book.takeDirtyRollouts());
      const changes = book.takeChangedUnits();
      if (sendWhole) for (const id of heldRollouts()) rolloutIds.add(id);
      const statuses = sendWhole || changes.regrouped ? [...book.statuses.values()] : undefined;
      const steps = [...rolloutIds].flatMap(
        (id) => progressOf(id, sendWhole, statuses, changes.byRollout.get(id)) ?? [],
      );
      const messages = steps.map((s) => s.message);
      const sent = await publishKeepingDirty(publisher.publish, messages, book, rolloutIds);
      if (sent) for (const s of steps) s.chain.taken(s.seq);
      return sent;
    },
  });
  return { updates, wholeDue: () => void (wholeDue = true) };
}

/**
 * The cluster's health: every `healthMs` (and on a change of the agent's condition, or a failure) a delta of the
 * units whose health changed, whole every `reportResendMs`, after a failed send and when the planner asks. Each
 * report, delta or whole, carries the agent's condition (Degraded) and a fresh stamp (ADR 0038), whose
 * generation is the chain's place.
 */
export function createHealthStream(
  options: StreamOptions & { readonly condition: () => Pick<HealthReport, 'degraded'> },
): ReportStream {
  const { cluster, book, clock, intervals, publisher } = options;
  const stamp = newHealthStamp(clock);
  let stamped: Pick<HealthReport, 'generation' | 'observedAt'> = { generation: 0, observedAt: '' };
  const chain = new ReportChain<HealthReport['units'][number]>(unitKey, () => stamped.generation);
  let wholeDue = false;
  let nextWholeAt = 0;
  const updates = ownReport({
    clock,
    resendMs: intervals.healthMs,
    send: async () => {
      stamped = stamp();
      const sendWhole = wholeDue || clock.now() >= nextWholeAt;
      wholeDue = false;
      const report = { source: cluster, ...options.condition(), ...stamped };
      // Between whole reports, the units whose health changed are compared, not every unit (issue 15): the
      // health goes every `healthMs` from every agent, 2,000 units each in fleet (b). After a regroup (units may
      // have gone) or a report not sent, every unit is compared again.
      const changes = book.takeHealthChanges();
      const all = (): HealthReport['units'] => [...book.statuses.values()].map(healthEntry);
      const changed = (): HealthReport['units'] => {
        const entries: HealthReport['units'] = [];
        for (const key of changes.keys) {
          const s = book.statuses.get(key);
          if (s !== undefined) entries.push(healthEntry(s));
        }
        return entries;
      };
      const step = chainMessage(
        chain,
        sendWhole || changes.regrouped ? all() : changed(),
        sendWhole,
        (entries) => publisher.event(MessageType.Health, { ...report, units: [...entries] }),
        ({ base, upserted, removed }) =>
          publisher.event(MessageType.HealthDelta, { ...report, base, upserted, removed }),
        sendWhole || changes.regrouped ? undefined : all,
      );
      let sent = false;
      try {
        sent = await publisher.publish([step.message]);
      } finally {
        if (!sent) book.healthUnsent();
      }
      if (sent) {
        chain.taken(step.seq);
        if (sendWhole) nextWholeAt = clock.now() + intervals.reportResendMs;
      }
      return sent;
    },
  });
  return { updates, wholeDue: () => void (wholeDue = true) };
}
