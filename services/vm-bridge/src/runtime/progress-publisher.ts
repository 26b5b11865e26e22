import { MessageType, Topic, VmHostState, vmGroupKey, type VmProgress } from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import { extractTraceContext, rolloutAttributes } from '@meshwave/telemetry';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BatchEventKind, type BatchEvent, type Decision, type GroupRecord } from '../core/batch-decision.js';
import { groupProgress } from '../core/group-progress.js';
import { degradedOf, type BridgeContext } from './bridge-context.js';

/**
 * What follows a committed write of a group: metrics, logs and a span per batch, and the group's progress on the
 * events topic (when it changed, or at least every `progressIntervalMs`).
 */
export class ProgressPublisher {
  private readonly lastProgress = new Map<string, { json: string; at: number }>();

  constructor(private readonly ctx: BridgeContext) {}

  async afterCommit(group: string, previous: GroupRecord, decision: Decision, now: number): Promise<void> {
    const { log, metrics, settings } = this.ctx;
    for (const e of decision.events) this.recordBatchEvent(group, decision.group, e, now);
    if (decision.group.halted && !previous.halted)
      log.warn({ group, reason: decision.group.haltReason }, 'group halted');
    metrics.unavailable.set({ group }, decision.unavailable);
    metrics.halted.set({ group }, decision.group.halted ? 1 : 0);
    const byState = new Map<string, number>(Object.values(VmHostState).map((state) => [state, 0] as const));
    for (const h of decision.hosts) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
    for (const [state, count] of byState) metrics.hosts.set({ group, state }, count);
    const progress = groupProgress(group, decision.group, decision.hosts, now, settings, decision.blockedReason);
    const degraded = degradedOf(this.ctx);
    if (progress !== undefined)
      await this.publishProgress(group, degraded === undefined ? progress : { ...progress, degraded }, now);
  }

  /** Publishes on the events topic; a failure is logged, never thrown (progress is level-triggered). */
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.ctx.bus === undefined) return;
    try {
      await this.ctx.bus.publish(messages);
    } catch (error) {
      // Progress is level-triggered: the next change or interval republishes it.
      this.ctx.log.warn({ err: error }, 'publishing to the events topic failed');
    }
  }

  private recordBatchEvent(group: string, record: GroupRecord, e: BatchEvent, now: number): void {
    const { log, metrics, tracer } = this.ctx;
    const ids = { rolloutId: record.command?.rolloutId, wave: record.command?.wave, vmGroup: group };
    metrics.batches.inc({ group, outcome: e.kind.replace('batch-', '') });
    if (e.kind === BatchEventKind.Started) {
      log.info({ ...ids, batch: e.batch.number, hosts: e.batch.hosts }, 'batch started');
      return;
    }
    const outcome = e.kind === BatchEventKind.Succeeded ? 'succeeded' : 'failed';
    metrics.batchSeconds.observe({ group, outcome }, Math.max(0, now - e.batch.startedAt) / 1000);
    // One span per batch, from its start (stored, so it survives restarts) to its end, in the wave's trace.
    const span = tracer.startSpan(
      `vm batch ${group}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: e.batch.startedAt,
        attributes: {
          ...rolloutAttributes(ids),
          'meshwave.vm.batch': e.batch.number,
          'meshwave.vm.batch.hosts': e.batch.hosts.length,
          'meshwave.vm.batch.outcome': outcome,
        },
      },
      extractTraceContext({ traceparent: e.batch.traceparent }),
    );
    if (e.reason !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: e.reason });
    span.end(now);
    if (outcome === 'failed') log.warn({ ...ids, batch: e.batch.number, reason: e.reason }, 'batch failed; reverted');
    else log.info({ ...ids, batch: e.batch.number }, 'batch succeeded');
  }

  private async publishProgress(group: string, progress: VmProgress, now: number): Promise<void> {
    const json = JSON.stringify(progress);
    const last = this.lastProgress.get(group);
    if (last !== undefined && last.json === json && now - last.at < this.ctx.settings.progressIntervalMs) return;
    this.lastProgress.set(group, { json, at: now });
    await this.publish([{ topic: Topic.Events, key: vmGroupKey(group), type: MessageType.VmProgress, data: progress }]);
  }
}
