import { trace, type Context } from '@opentelemetry/api';
import { UnitState, UnitWaitReason, unitKey } from '@meshwave/contracts';
import { createKeyQueue, type Clock, type KeyQueue, type ReconcileResult } from '@meshwave/reconcile';
import { rolloutAttributes, withRolloutIds, withSpan, type Logger } from '@meshwave/telemetry';
import {
  FailureHold,
  assessUnit,
  judgeFailure,
  observeUnit,
  observeUnitIn,
  unitWrites,
  type UnitAssignment,
} from '../core/converge-decisions.js';
import { ClusterAgentError } from '../errors.js';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { KubernetesPort } from '../ports/kubernetes-port.js';
import type { UnitObservation } from '../core/unit-model.js';
import type { ClusterCache } from './cluster-cache.js';
import type { ControlPlaneGate } from './control-plane-gate.js';
import type { RevisionTagPointer, TagPointRefusal } from './revision-tag-pointer.js';
import type { UnitBook, UnitStatus } from './unit-book.js';

export interface UnitReconcilerOptions {
  readonly cluster: string;
  readonly port: KubernetesPort;
  readonly cache: ClusterCache;
  readonly book: UnitBook;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly resyncMs: number;
  readonly concurrency: number;
  /** trace context of the command that last changed each rollout, so relabel/restart spans join its trace */
  readonly rolloutTrace: ReadonlyMap<string, Context>;
  /** the agent's event-loop delay now, ms, and the delay past which it judges no failure */
  readonly loopDelayMs: () => number;
  readonly loopDelayThresholdMs: number;
  /** whether units may be restarted onto a revision now (its istiod ready, its webhook registered) */
  readonly controlPlanes: ControlPlaneGate;
  /** a tag move's tag, pointed at the unit's revision before it restarts (ADR 0035) */
  readonly revisionTags: RevisionTagPointer;
  /** the revision a revision tag points at now (the watch of webhook configurations), for a target that is a tag */
  readonly tagTarget: (name: string) => string | undefined;
}

export interface UnitReconciler {
  readonly queue: KeyQueue;
  /** Assesses every unit from the cache at once, so the in-flight count is complete before anything starts. */
  assessAll(): void;
  /** enqueues every assigned unit */
  enqueueAll(): void;
  /**
   * After `assessAll`: enqueues only the units a reconcile has something to do for (in flight, a held verdict,
   * not assessed yet) and wakes as many pending units as there are free slots, first in order. The other units'
   * reconciles would assess them again to find what `assessAll` just found: a command for a cluster's 2,000
   * units cost 4,000 assessments where 2,000 and the slots' worth do (issue 15).
   */
  enqueueActive(): void;
  /**
   * The periodic resync: enqueues every assigned unit except those last assessed Converged, or Pending with no
   * verdict held, and wakes as many pending units as there are free slots, first in order. A converged or waiting
   * unit's verdict depends only on the cache (no timer runs for it), and every cache change wakes the units it
   * concerns (`unitsToWake`; a re-list wakes them all), so re-assessing it on a timer finds what it found: work
   * proportional to the fleet every resync (100,000 units every 5 s in the fleet benchmark), for nothing; while a
   * wave of 2,000 units per cluster moves 180 at a time, its ~1,800 waiting units were assessed at every resync, a
   * cost that grew with the wave's length (issue 15, ADR 0076).
   */
  enqueueUnsettled(): void;
}

const tracer = trace.getTracer('@meshwave/cluster-agent');

/** how soon a failure verdict held for the agent's own lag is judged again */
const HOLD_RETRY_MS = 1_000;
/** how soon a unit held for its target's control plane looks again (istio-system changes wake it sooner) */
const CONTROL_PLANE_RETRY_MS = 5_000;

/** A tag move's tag pointed at the unit's revision (ADR 0035), the Gateways to pin pinned first (ADR 0056). */
function pointTag(tags: RevisionTagPointer, a: UnitAssignment): Promise<TagPointRefusal | undefined> {
  if (a.tag === undefined) return Promise.resolve(undefined);
  return tags.point(a.tag, a.target.revision, a.allowUnsupportedUpgradePath === true, a.gatewayPins);
}

/**
 * Reconciles one unit per key: re-reads the unit from the cache, records its state, and starts it (relabel and
 * restart patches) when its rollout leaves a maxUnavailable slot free.
 */
export function createUnitReconciler(options: UnitReconcilerOptions): UnitReconciler {
  const { cache, book, clock, log } = options;

  const judged = (a: UnitAssignment, obs: UnitObservation, fresh: boolean): UnitStatus => {
    const basis = { fresh, loopDelayMs: options.loopDelayMs(), loopDelayThresholdMs: options.loopDelayThresholdMs };
    const resolved = resolvedTarget(options, a);
    const assessed = judgeFailure(assessUnit(resolved, obs, clock.now()), basis);
    return { ...assessed, assignment: a, ...(resolved.injects !== undefined ? { injects: resolved.injects } : {}) };
  };
  const assess = (a: UnitAssignment): UnitStatus => {
    return judged(a, observeUnitIn(a.target, cache.contents(a.target.namespace)), false);
  };
  // A failure the cache shows is judged again on the unit's workloads and pods as the apiserver has them now.
  const assessOnApiserver = async (a: UnitAssignment): Promise<UnitStatus> => {
    const ns = a.target.namespace;
    const [workloads, pods] = await Promise.all([options.port.listWorkloads(ns), options.port.listPods(ns)]);
    return judged(a, observeUnit(a.target, cache.namespace(ns), workloads, pods), true);
  };

  const reconcile = async (key: string): Promise<ReconcileResult> => {
    if (!cache.isSynced) return { requeueAfterMs: 500 };
    const a = book.units.get(key);
    if (!a) return;
    let status = assess(a);
    if (status.hold === FailureHold.Confirm) status = await assessOnApiserver(a);
    // a lagging loop does not un-fail a unit it has already reported Failed: the hold only delays new verdicts
    if (status.hold !== FailureHold.Lagging || book.statuses.get(key)?.state !== UnitState.Failed) book.record(status);
    // A loop that lags judges again once it has caught up; watches may well settle the unit before that.
    if (status.hold === FailureHold.Lagging) return { requeueAfterMs: HOLD_RETRY_MS };
    const settings = book.rolloutSettings.get(a.rolloutId);
    const halted = settings?.halted ?? true;
    let start = false;
    if (status.inFlight && status.hasWrites && !halted) start = true; // next step, or a unit begun before a crash
    if (status.state === UnitState.Pending && !halted && settings && settings.maxUnavailable > book.inFlightCount) {
      // Nothing restarts onto a revision whose istiod is not ready or whose webhook is gone: the unit waits,
      // saying why, and the planner's wave with it.
      const blocked = await options.controlPlanes.blocker(a.target.revision);
      if (blocked !== undefined) {
        book.record({ ...status, reason: UnitWaitReason.ControlPlaneNotReady, message: blocked });
        return { requeueAfterMs: CONTROL_PLANE_RETRY_MS };
      }
      // A tag move points the tag first: the restart's pods are injected by whatever the tag points at.
      const untagged = await pointTag(options.revisionTags, a);
      if (untagged !== undefined) {
        book.record({ ...status, ...untagged });
        return { requeueAfterMs: CONTROL_PLANE_RETRY_MS };
      }
      // other units may have started during the check
      start = settings.maxUnavailable > book.inFlightCount;
    }
    if (start) {
      // Reserve the slot before the first await: reconciles of other units run concurrently.
      book.markStarting(key);
      book.record(status);
      try {
        await startUnit(options, a);
      } finally {
        book.doneStarting(key);
        book.record(assess(a));
      }
      return { requeueAfterMs: 1_000 };
    }
    if (status.inFlight) {
      // Watches wake us on progress; this timer only catches the progress deadline passing in silence.
      return { requeueAfterMs: Math.min(options.resyncMs, a.progressDeadlineSeconds * 1000) };
    }
    return;
  };

  const queue = createKeyQueue(reconcile, {
    clock,
    concurrency: options.concurrency,
    onError: (key, err, attempt) => {
      const level = err instanceof ClusterAgentError && err.retryable ? 'info' : 'warn';
      log[level]({ unit: key, attempt, err }, 'reconcile failed; retrying with backoff');
    },
  });

  return {
    queue,
    assessAll: () => {
      for (const a of book.units.values()) {
        const status = assess(a);
        // a held verdict is settled by a reconcile (an apiserver read, or a later look); a unit already reported
        // Failed keeps that status meanwhile, so a command or a restart of the agent does not un-fail it
        if (status.hold !== undefined) {
          if (book.statuses.get(status.key)?.state !== UnitState.Failed) book.record(status);
          queue.add(status.key);
        } else book.record(status);
      }
    },
    enqueueAll: () => {
      for (const k of book.units.keys()) queue.add(k);
    },
    enqueueActive: () => enqueueActive(book, queue),
    enqueueUnsettled: () => enqueueUnsettled(book, queue),
  };
}

/**
 * Whether the periodic resync assesses the unit again: not when it converged, nor when it is pending with nothing
 * held (it waits for a slot or its turn: only a cache change, which wakes it, or a freed slot, which `wakePending`
 * hands out in order, changes what it is waiting for).
 */
function unsettled(s: UnitStatus | undefined): boolean {
  if (s === undefined || s.inFlight || s.hold !== undefined) return true;
  return s.state !== UnitState.Converged && s.state !== UnitState.Pending;
}

/** See `UnitReconciler.enqueueUnsettled`. */
function enqueueUnsettled(book: UnitBook, queue: KeyQueue): void {
  for (const k of book.units.keys()) if (unsettled(book.statuses.get(k))) queue.add(k);
  book.wakePending();
}

/** See `UnitReconciler.enqueueActive`. */
function enqueueActive(book: UnitBook, queue: KeyQueue): void {
  for (const k of book.units.keys()) {
    const s = book.statuses.get(k);
    if (s === undefined || s.inFlight || s.hold !== undefined) queue.add(k);
  }
  book.wakePending();
}

/**
 * A unit whose target is a revision tag (a rollout whose `to` is a tag, ADR 0046) is judged on the revision the tag
 * points at now; its labels still name the tag. A tag move's target is a revision already.
 */
function resolvedTarget(options: UnitReconcilerOptions, a: UnitAssignment): UnitAssignment {
  const injects = a.tag === undefined ? options.tagTarget(a.target.revision) : undefined;
  // A namespace handoff restarts its templates in the cluster's free slots (ADR 0011 addendum): maxUnavailable
  // less the workloads restarting elsewhere (its own namespace's restarts are taken off by the handoff itself).
  const { book } = options;
  const max = book.rolloutSettings.get(a.rolloutId)?.maxUnavailable;
  const batch = max === undefined ? undefined : max - (book.inFlightCount - book.handoffRestartsIn(a.target.namespace));
  if (injects === undefined && batch === undefined) return a;
  return {
    ...a,
    ...(injects === undefined ? {} : { injects }),
    ...(batch === undefined ? {} : { handoffBatch: batch }),
  };
}

/** Writes the unit's next step: the namespace relabel, then one restart patch per workload. */
async function startUnit(options: UnitReconcilerOptions, a: UnitAssignment): Promise<void> {
  const { cache, clock } = options;
  const ns = a.target.namespace;
  const obs = observeUnitIn(a.target, cache.contents(ns));
  const resolved = resolvedTarget(options, a);
  const current = assessUnit(resolved, obs, clock.now());
  const writes = unitWrites(resolved, obs, current.toRestart, new Date(clock.now()).toISOString());
  // a handoff step's restarts hold their slots from now: other reconciles run while these patches are sent
  const handoffRestarts = current.handoff === undefined ? 0 : writes.workloads.length;
  options.book.writingHandoff(handoffRestarts);
  try {
    await sendWrites(options, a, writes);
  } finally {
    options.book.writingHandoff(-handoffRestarts);
  }
}

/** Sends a unit's writes: the namespace relabel, then one restart patch per workload. */
async function sendWrites(
  options: UnitReconcilerOptions,
  a: UnitAssignment,
  writes: ReturnType<typeof unitWrites>,
): Promise<void> {
  const { cache, port, cluster } = options;
  const parent = options.rolloutTrace.get(a.rolloutId);
  const attrs = {
    ...rolloutAttributes({ rolloutId: a.rolloutId, wave: a.wave, cluster }),
    'meshwave.unit': unitKey(a.target),
    'meshwave.revision': a.target.revision,
  };
  const ulog = withRolloutIds(options.log, { rolloutId: a.rolloutId, wave: a.wave, cluster });
  if (writes.namespace) {
    const w = writes.namespace;
    await withSpan(tracer, 'relabel namespace', { attributes: attrs, ...(parent ? { parent } : {}) }, async () => {
      const view = await port.patchNamespace(w.name, { labels: w.labels }, { resourceVersion: w.resourceVersion });
      cache.rememberNamespace(view);
    });
    ulog.info({ namespace: w.name, labels: w.labels, revision: a.target.revision }, 'namespace relabelled');
  }
  for (const w of writes.workloads) {
    await withSpan(
      tracer,
      `restart ${w.ref.kind}`,
      {
        attributes: { ...attrs, 'k8s.namespace.name': w.ref.namespace, 'k8s.workload.name': w.ref.name },
        ...(parent ? { parent } : {}),
      },
      async () => {
        const view = await port.patchWorkload(
          w.ref,
          {
            ...(w.labels ? { labels: w.labels } : {}),
            ...(w.templateLabels ? { templateLabels: w.templateLabels } : {}),
            ...(w.templateAnnotations ? { templateAnnotations: w.templateAnnotations } : {}),
          },
          { resourceVersion: w.resourceVersion },
        );
        cache.rememberWorkload(view);
      },
    );
    options.metrics.recordRestart();
    ulog.info(
      { workload: `${w.ref.namespace}/${w.ref.kind}/${w.ref.name}`, revision: a.target.revision },
      'workload restarted',
    );
  }
}
