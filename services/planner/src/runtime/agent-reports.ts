import {
  MessageType,
  ResyncReport,
  Topic,
  type CommandRejected,
  type HealthDelta,
  type HealthReport,
  type UnitProgress,
  type UnitProgressDelta,
  type VmProgress,
  type VmProgressDelta,
} from '@meshwave/contracts';
import { HandlerRejectedError, type IncomingMessage, type Subscription } from '@meshwave/bus';
import type { Lease } from '@meshwave/store';
import { futureGenerationRefusal, healthReportRefusal } from '../core/health-freshness.js';
import { VM_BRIDGE_HEALTH_KEY } from '../core/judgement-hold.js';
import {
  applyHealthDelta,
  applyProgressDelta,
  applyVmProgressDelta,
  type ReportDeltaOutcome,
} from '../core/report-delta.js';
import type { EntryChange } from '../core/delta-chain.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { FleetInventory } from './fleet-inventory.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { reportFailure } from './report-failure.js';
import { ReportWrites, type ReportTarget } from './report-writes.js';
import type { RolloutReconciler } from './rollout-reconciler.js';
import { RolloutDoc } from './store-layout.js';
import { StoredClusterReport, StoredVmGroupReport } from './stored-documents.js';
import { processValues, type SharedValues } from '../core/shared-values.js';

/** What report intake needs of the reconcile loop. */
export type ReconcilePort = Pick<
  RolloutReconciler,
  'enqueue' | 'noteFailure' | 'drives' | 'driven' | 'rejudgeAll' | 'primeReport'
>;

/** The parts of a report's message that report intake reads besides its data. */
type Report<T> = Pick<IncomingMessage, 'source' | 'type' | 'time'> & { readonly data: T };

const unitFailed = (u: { readonly state: string }): boolean => u.state === 'failed';
const hostFailed = (h: { readonly state: string }): boolean => h.state === 'failed' || h.state === 'reverted';

/** the reports that list units or hosts: their repeated values are shared before anything keeps them */
const SHARED_TYPES: ReadonlySet<string> = new Set([
  MessageType.UnitProgress,
  MessageType.UnitProgressDelta,
  MessageType.VmProgress,
  MessageType.VmProgressDelta,
  MessageType.VmInventory,
  MessageType.Inventory,
  MessageType.InventoryDelta,
  MessageType.Health,
  MessageType.HealthDelta,
]);

/** Health reports are kept per cluster (`cluster-agent/<cluster>`), the vm-bridge's under one key whatever its instance. */
function healthKeyOf(source: string): string {
  if (source === VM_BRIDGE_HEALTH_KEY || source.startsWith(`${VM_BRIDGE_HEALTH_KEY}/`)) return VM_BRIDGE_HEALTH_KEY;
  return source.split('/').at(-1) ?? source;
}

/**
 * The leader's intake of what agents report (progress, inventory, health, heartbeats, refused commands): each
 * report is stored (the newest generation wins) and the rollouts it concerns are reconciled again.
 */
export class AgentReports {
  private readonly heartbeats = new Map<string, string>();
  private readonly writes: ReportWrites;

  constructor(
    private readonly context: PlannerContext,
    private readonly leadership: Pick<Leadership, 'current' | 'lost'>,
    private readonly reconciler: ReconcilePort,
    private readonly inventory: Pick<
      FleetInventory,
      'storeReport' | 'storeDelta' | 'storeVmGroup' | 'storeVmMembership' | 'heardFrom' | 'resyncs'
    >,
    private readonly values: Pick<SharedValues, 'share'> = processValues,
  ) {
    this.writes = new ReportWrites(
      context.store,
      (scope) => reconciler.drives(scope),
      (scope, name, version, value) => reconciler.primeReport(scope, name, version, value),
    );
  }

  /** Subscribes to the events topic from the beginning (the leader's group). */
  subscribe(): Promise<Subscription> {
    return this.context.bus.subscribe({
      topic: Topic.Events,
      groupId: this.context.config.eventsGroupId,
      fromBeginning: true,
      types: [
        MessageType.UnitProgress,
        MessageType.UnitProgressDelta,
        MessageType.VmProgress,
        MessageType.VmProgressDelta,
        MessageType.VmInventory,
        MessageType.Inventory,
        MessageType.InventoryDelta,
        MessageType.Health,
        MessageType.HealthDelta,
        MessageType.Heartbeat,
        MessageType.CommandRejected,
      ],
      handler: (m) => this.onMessage(m),
    });
  }

  /** A report that fails for a passing reason (not leader, store down) is retried or left uncommitted, not lost. */
  private async onMessage(m: IncomingMessage): Promise<void> {
    try {
      await this.take(m);
    } catch (error) {
      throw reportFailure(error);
    }
  }

  private async take(m: IncomingMessage): Promise<void> {
    const lease = this.leadership.current;
    if (!lease) throw new PlannerError(PlannerErrorCode.NotLeader, 'not leader', { retryable: true });
    const receivedAt = performance.now();
    // what is kept of a report (held, stored, observed) shares its kinds, namespaces and revisions (issue 15)
    if (SHARED_TYPES.has(m.type)) this.values.share(m.data);
    switch (m.type) {
      case MessageType.UnitProgress:
        this.noteHeard(m.data.cluster);
        return this.onUnitProgress(lease, m, receivedAt);
      case MessageType.UnitProgressDelta:
        this.noteHeard(m.data.cluster);
        return this.onUnitProgressDelta(lease, m, receivedAt);
      case MessageType.VmProgress:
        return this.onVmProgress(lease, m, receivedAt);
      case MessageType.VmProgressDelta:
        return this.onVmProgressDelta(lease, m, receivedAt);
      case MessageType.VmInventory:
        return this.inventory.storeVmMembership(lease, m.data);
      case MessageType.Inventory:
        this.refuseFutureGeneration(m.data);
        this.noteHeard(m.data.cluster);
        return this.inventory.storeReport(lease, m.data);
      case MessageType.InventoryDelta:
        this.refuseFutureGeneration(m.data);
        return this.inventory.storeDelta(lease, m.data);
      case MessageType.Health:
      case MessageType.HealthDelta:
        if (m.type === MessageType.Health) this.onHealth(m, receivedAt);
        else await this.onHealthDelta(m, receivedAt);
        // a cluster-agent's health report comes every 15 s: the planner asks for an inventory it lacks
        if (healthKeyOf(m.data.source) !== VM_BRIDGE_HEALTH_KEY)
          await this.inventory.heardFrom(healthKeyOf(m.data.source));
        return;
      case MessageType.Heartbeat:
        this.heartbeats.set(m.source, m.time);
        this.noteHeard(m.data.source);
        return;
      case MessageType.CommandRejected:
        return this.onCommandRejected(m.data);
      default:
        return;
    }
  }

  /** Refused to the DLQ with the reason: a generation from the future would shadow every genuine one after it. */
  private refuseFutureGeneration(d: { readonly cluster: string; readonly generation: number }): void {
    const refusal = futureGenerationRefusal(d.generation, nowOf(this.context).getTime());
    if (refusal !== undefined) throw new HandlerRejectedError(`inventory of ${d.cluster} ${refusal}`);
  }

  private async onUnitProgress(lease: Lease, m: Report<UnitProgress>, receivedAt: number): Promise<void> {
    const d = m.data;
    if (!(await this.knowsRollout(d.rolloutId))) return;
    const name = RolloutDoc.clusterReport(d.cluster);
    await this.storeReport(lease, { scope: d.rolloutId, name, schema: StoredClusterReport }, d);
    this.inventory.resyncs.received(d.cluster, ResyncReport.Progress);
    this.progressed(d.rolloutId, d.units.some(unitFailed), receivedAt, m);
  }

  /**
   * A cluster's progress delta (ADR 0048), applied to the report this leader holds (no read in the steady state);
   * one that does not follow it asks the agent for its whole progress.
   */
  private async onUnitProgressDelta(lease: Lease, m: Report<UnitProgressDelta>, receivedAt: number): Promise<void> {
    const d = m.data;
    if (!(await this.knowsRollout(d.rolloutId))) return;
    const target = { scope: d.rolloutId, name: RolloutDoc.clusterReport(d.cluster), schema: StoredClusterReport };
    const outcome = await this.applyDelta(lease, target, (held: UnitProgress | undefined) =>
      applyProgressDelta(held, d),
    );
    if (outcome.kind === 'stale') return;
    if (outcome.kind === 'gap') {
      await this.inventory.resyncs.request(d.cluster, outcome.reason, ResyncReport.Progress);
      return;
    }
    this.progressed(d.rolloutId, d.upserted.some(unitFailed), receivedAt, m);
  }

  /**
   * A delta applied to the report held of `target` and the result stored (`before`: what else to store first);
   * a stale or gap outcome stores nothing.
   */
  private async applyDelta<R extends { readonly generation: number }, E>(
    lease: Lease,
    target: ReportTarget,
    apply: (held: R | undefined) => ReportDeltaOutcome<R, E>,
    before: (report: R, changes: readonly EntryChange<E>[]) => Promise<void> = () => Promise.resolve(),
  ): Promise<ReportDeltaOutcome<R, E>> {
    const outcome = apply(await this.writes.current<R>(lease, target));
    if (outcome.kind !== 'applied') return outcome;
    await before(outcome.report, outcome.changes);
    await this.storeReport(lease, target, outcome.report, true);
    return outcome;
  }

  /** What reported progress leads to: its rollout reconciled, at once when a unit or host it names failed. */
  private progressed(rolloutId: string, failing: boolean, receivedAt: number, m: Report<unknown>): void {
    if (failing) this.noteFailure(rolloutId, receivedAt, m);
    this.reconciler.enqueue(rolloutId, failing);
  }

  private async onVmProgress(lease: Lease, m: Report<VmProgress>, receivedAt: number): Promise<void> {
    const d = m.data;
    await this.inventory.storeVmGroup(lease, d);
    if (!(await this.knowsRollout(d.rolloutId))) return;
    const name = RolloutDoc.vmGroupReport(d.group);
    await this.storeReport(lease, { scope: d.rolloutId, name, schema: StoredVmGroupReport }, d);
    this.progressed(d.rolloutId, d.hosts.some(hostFailed), receivedAt, m);
  }

  /**
   * A VM group's progress delta (ADR 0048). The bridge is asked for nothing on a gap: it re-sends each group's
   * whole progress every `progressIntervalMs`, which the delta's chain then follows.
   */
  private async onVmProgressDelta(lease: Lease, m: Report<VmProgressDelta>, receivedAt: number): Promise<void> {
    const d = m.data;
    if (!(await this.knowsRollout(d.rolloutId))) return;
    const target = { scope: d.rolloutId, name: RolloutDoc.vmGroupReport(d.group), schema: StoredVmGroupReport };
    const outcome = await this.applyDelta(
      lease,
      target,
      (held: VmProgress | undefined) => applyVmProgressDelta(held, d),
      (report, changes) =>
        // the fleet's record of what the group's hosts run is the group's size: written only when a version moved
        changes.some((c) => c.before?.version !== c.after?.version)
          ? this.inventory.storeVmGroup(lease, report)
          : Promise.resolve(),
    );
    if (outcome.kind === 'gap')
      this.context.logger.info({ group: d.group, reason: outcome.reason }, 'VM progress delta skipped');
    if (outcome.kind !== 'applied') return;
    this.progressed(d.rolloutId, d.upserted.some(hostFailed), receivedAt, m);
  }

  /** The first failure reported for a rollout: logged with when it was published (a halt's second hop). */
  private noteFailure(rolloutId: string, receivedAt: number, m: Report<unknown>): void {
    if (this.reconciler.noteFailure(rolloutId, receivedAt))
      this.context.logger.warn({ rolloutId, from: m.source, type: m.type, publishedAt: m.time }, 'failure reported');
  }

  private onHealth(m: Report<HealthReport>, receivedAt: number): void {
    const key = healthKeyOf(m.data.source);
    this.checkHealth(key, m.data);
    if (key !== VM_BRIDGE_HEALTH_KEY) this.inventory.resyncs.received(key, ResyncReport.Health);
    this.healthChanged(key, m.data, m.data.units, receivedAt, m);
  }

  /**
   * A health delta (ADR 0048), applied to the report held of its source; one that does not follow it asks the
   * agent for its whole health. It speaks for the units it names only: the flags it raises are the new ones.
   */
  private async onHealthDelta(m: Report<HealthDelta>, receivedAt: number): Promise<void> {
    const d = m.data;
    const key = healthKeyOf(d.source);
    this.checkHealth(key, d);
    const outcome = applyHealthDelta(this.context.health.get(key)?.report, d);
    if (outcome.kind === 'stale') return;
    if (outcome.kind === 'gap') {
      if (key !== VM_BRIDGE_HEALTH_KEY) await this.inventory.resyncs.request(key, outcome.reason, ResyncReport.Health);
      return;
    }
    this.healthChanged(key, outcome.report, d.upserted, receivedAt, m);
  }

  /** Refused to the DLQ, not dropped: a replayed or stale report is someone's doing, and must be visible. */
  private checkHealth(key: string, d: Pick<HealthReport, 'generation' | 'observedAt'>): void {
    const last = this.context.health.get(key)?.report;
    const refusal = healthReportRefusal(last, d, nowOf(this.context).getTime());
    if (refusal !== undefined) throw new HandlerRejectedError(`health report of ${key} ${refusal}`);
  }

  private healthChanged(
    key: string,
    d: HealthReport,
    changed: HealthReport['units'],
    receivedAt: number,
    m: Report<unknown>,
  ): void {
    const before = this.context.health.get(key)?.report.degraded;
    this.context.health.set(key, { report: d, receivedAt: nowOf(this.context).toISOString() });
    // A source well again: failures held while it was Degraded are judged now, not at the next report.
    if (before !== undefined && d.degraded === undefined) this.reconciler.rejudgeAll();
    if (changed.some((u) => u.crashLooping || u.sidecarMismatch)) {
      for (const id of this.reconciler.driven()) {
        this.noteFailure(id, receivedAt, m);
        this.reconciler.enqueue(id, true);
      }
    }
  }

  /**
   * An agent spoke: its cluster is reachable. One that had been silent past the heartbeat timeout (Unreachable)
   * is back, so every driven rollout is looked at again (a wave waiting for it, skipped units coming back).
   */
  private noteHeard(cluster: string): void {
    const now = this.context.clock.now();
    const last = this.context.heard.get(cluster);
    this.context.heard.set(cluster, now);
    if (last !== undefined && now - last >= this.context.config.heartbeatTimeoutMs) this.reconciler.rejudgeAll();
  }

  private onCommandRejected(d: CommandRejected): void {
    this.context.metrics.commandsRejected.inc({ reason: d.reason });
    this.context.logger.warn(
      { source: d.source, reason: d.reason, detail: d.detail, commandId: d.commandId },
      'an agent refused a command',
    );
  }

  private async knowsRollout(id: string): Promise<boolean> {
    if (this.reconciler.drives(id)) return true;
    // A rollout finished before this leader started is still a known scope; reports for it are kept. Its
    // record's version says so without fetching it (the whole plan: 12.7 MB at fleet (b), once per report).
    return (await this.context.store.readVersion(id, RolloutDoc.Record)) > 0;
  }

  /** Keeps the newest report per target: an older generation (redelivery, reordering) never replaces a newer one. */
  private async storeReport(
    lease: Lease,
    target: ReportTarget,
    value: { readonly generation: number },
    merged = false,
  ): Promise<void> {
    const r = await this.writes.write(lease, target, value, merged);
    if ('outcome' in r) return;
    if (r.reason === 'stale-epoch') {
      void this.leadership.lost('stale epoch');
      throw new PlannerError(PlannerErrorCode.StaleEpoch, 'a newer leader wrote this rollout', { retryable: true });
    }
    throw new PlannerError(PlannerErrorCode.Conflict, `report ${target.name} changed concurrently`, {
      retryable: true,
    });
  }
}
