import { GateOutcome, GateReason, resolvePercentOrCount, type Gates } from '@meshwave/contracts';
import { heldFailures } from './judgement-hold.js';
import type { MetricObservation } from './metric-samples.js';
import { UnitStatus, type UnitObservation, type VmHostObservation } from './unit-observations.js';

/** What a gate evaluation looks at. Sources judge data handed to them; they never fetch (the adapter does). */
export interface GateRequest {
  readonly rolloutId: string;
  readonly wave: number;
  /** the evaluation that decides the wave (end of soak); otherwise a watch while converging or soaking */
  readonly final: boolean;
  readonly gates: Gates;
  /** the current wave's units */
  readonly units: readonly UnitObservation[];
  /** units of earlier waves, still watched: one failing now fails the gate too */
  readonly watched: readonly UnitObservation[];
  readonly vmHosts: readonly VmHostObservation[];
  /** what the metrics adapter fetched for this rollout (undefined: no metrics backend) */
  readonly metrics?: MetricObservation;
  /** where the wave's metric window starts now (soak start, or dispatch); final metric verdicts need samples of it */
  readonly metricWindowStart?: string;
}

/** A health source's judgement, before the engine stamps it with wave, time and source. */
export interface SourceVerdict {
  readonly outcome: GateOutcome;
  readonly reason: string;
  readonly message: string;
  readonly failed: readonly string[];
  /** from a gate the spec does not enforce (`enforce: false`): shown with the verdict, never deciding it */
  readonly advisory?: boolean;
}

/** An advisory gate's verdict as shown beside the deciding one. */
export interface AdvisoryOutcome {
  readonly source: string;
  readonly outcome: GateOutcome;
  readonly reason: string;
  readonly message: string;
}

/**
 * A port per kind of health signal (agent reports now; Prometheus SLOs and cohort comparison later, fed by an
 * adapter that queries and hands samples in). Pure: the same request gives the same verdict.
 */
export interface HealthSource {
  readonly name: string;
  evaluate(request: GateRequest): SourceVerdict;
}

const UNIT_FAILURE_LIMIT = 20;

function list(items: readonly string[]): string {
  return items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`;
}

/**
 * `gates.restarts`: units moved (converged on the new revision) whose pods restarted more than `max` times fail
 * the gate as a crash loop does. Judged on converged units only, so old pods restarting mid-move do not count.
 */
function tooManyRestarts(units: readonly UnitObservation[], gates: Gates): SourceVerdict | undefined {
  const max = gates.restarts?.max;
  if (max === undefined) return undefined;
  const over = units.filter((u) => u.status === UnitStatus.Converged && u.restarts > max);
  if (over.length === 0) return undefined;
  return {
    outcome: GateOutcome.Failed,
    reason: GateReason.TooManyRestarts,
    message: `restarted more than ${max} times on the new revision (gates.restarts.max): ${list(over.map((u) => `${u.unit} (${u.restarts})`))}`,
    failed: over.map((u) => u.unit).slice(0, UNIT_FAILURE_LIMIT),
  };
}

/** What one pass over the watched and the wave's units finds, in their order (fresh units only, but `stale`). */
interface Findings {
  readonly crash: string[];
  readonly overRestarts: UnitObservation[];
  readonly failed: UnitObservation[];
  readonly mismatch: string[];
  readonly held: UnitObservation[];
  /** the wave's own units converged */
  converged: number;
  /** targets whose reports are not for the latest desired state (the wave's own units') */
  readonly stale: Set<string>;
}

/**
 * One pass over every unit a gate looks at, without copying them: a gate watches every unit of the wave and of the
 * earlier ones at every decision while a wave converges (100,000 at fleet (b), issue 15).
 */
function scan(request: GateRequest): Findings {
  const max = request.gates.restarts?.max;
  const f: Findings = {
    crash: [],
    overRestarts: [],
    failed: [],
    mismatch: [],
    held: [],
    converged: 0,
    stale: new Set(),
  };
  const visit = (u: UnitObservation, own: boolean): void => {
    if (!u.fresh) {
      if (own) f.stale.add(`cluster/${u.cluster}`);
      return;
    }
    if (u.crashLooping) f.crash.push(u.unit);
    if (u.status === UnitStatus.Converged) {
      if (max !== undefined && u.restarts > max) f.overRestarts.push(u);
      if (own) f.converged++;
    }
    if (u.status === UnitStatus.Failed) f.failed.push(u);
    if (u.sidecarMismatch) f.mismatch.push(u.unit);
    if (u.reason === GateReason.JudgementHeld) f.held.push(u);
  };
  for (const u of request.watched) visit(u, false);
  for (const u of request.units) visit(u, true);
  return f;
}

/** The first failure the agents report, in the order of the checks; undefined when there is none. */
function failureOf(f: Findings, request: GateRequest): SourceVerdict | undefined {
  if (f.crash.length > 0)
    return {
      outcome: GateOutcome.Failed,
      reason: GateReason.CrashLoop,
      message: `crash-looping on the new revision: ${list(f.crash)}`,
      failed: f.crash.slice(0, UNIT_FAILURE_LIMIT),
    };
  const restarting = tooManyRestarts(f.overRestarts, request.gates);
  if (restarting !== undefined) return restarting;
  if (f.failed.length > 0) {
    const why = f.failed.map((u) => `${u.unit}${u.reason ? ` (${u.reason}${u.message ? `: ${u.message}` : ''})` : ''}`);
    return {
      outcome: GateOutcome.Failed,
      reason: GateReason.UnitFailed,
      message: `unit failed: ${list(why)}`,
      failed: f.failed.map((u) => u.unit).slice(0, UNIT_FAILURE_LIMIT),
    };
  }
  if (f.mismatch.length > 0)
    return {
      outcome: GateOutcome.Failed,
      reason: GateReason.SidecarMismatch,
      message: `sidecar does not match the assigned revision: ${list(f.mismatch)}`,
      failed: f.mismatch.slice(0, UNIT_FAILURE_LIMIT),
    };
  const vmFailed = request.vmHosts.filter((h) => h.fresh && h.status === 'failed');
  if (vmFailed.length > 0) {
    const why = vmFailed.map((h) => `${h.host}${h.reason ? ` (${h.reason})` : ''}`);
    return {
      outcome: GateOutcome.Failed,
      reason: GateReason.VmHostFailed,
      message: `VM host failed: ${list(why)}`,
      failed: vmFailed.map((h) => `vmgroup/${h.host}`).slice(0, UNIT_FAILURE_LIMIT),
    };
  }
  // A failure held because its judge reports itself Degraded: say so, and wait (judgement-hold.ts).
  return heldFailures(f.held, request.vmHosts);
}

/**
 * Judges a wave from what agents report: it converges when every unit reports the new revision injected and
 * Ready, and fails as soon as one unit fails (progress deadline, crash loop, sidecar mismatch) or a VM host fails.
 */
export const agentReportHealthSource: HealthSource = {
  name: 'agent-reports',
  evaluate(request: GateRequest): SourceVerdict {
    const f = scan(request);
    const failure = failureOf(f, request);
    if (failure !== undefined) return failure;

    const units = request.units;
    if (units.length === 0 && request.vmHosts.length === 0)
      return {
        outcome: GateOutcome.Successful,
        reason: GateReason.NothingToMove,
        message: 'the wave moves nothing',
        failed: [],
      };
    const converged = f.converged;
    const vmConverged = request.vmHosts.filter((h) => h.fresh && h.status === 'converged').length;
    for (const h of request.vmHosts) if (!h.fresh) f.stale.add(`vmgroup/${h.group}`);
    const stale = [...f.stale];
    // The final gate may pass with fewer than all units available when the spec says so; convergence needs all.
    const required =
      request.final && request.gates.readiness
        ? resolvePercentOrCount(request.gates.readiness.minAvailable, units.length)
        : units.length;
    if (converged >= required && vmConverged === request.vmHosts.length) {
      return {
        outcome: GateOutcome.Successful,
        reason: GateReason.AllUnitsConverged,
        message: `${converged}/${units.length} units and ${vmConverged}/${request.vmHosts.length} VM hosts on the target revision and Ready`,
        failed: [],
      };
    }
    if (stale.length > 0)
      return {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.ReportsMissing,
        message: `waiting for reports of the latest desired state from ${list(stale)}`,
        failed: [],
      };
    if (request.final) {
      return {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.ReadinessBelowMinimum,
        message: `${converged}/${units.length} units available, ${required} required`,
        failed: [],
      };
    }
    return {
      outcome: GateOutcome.Inconclusive,
      reason: GateReason.UnitsConverging,
      message: `${converged}/${units.length} units and ${vmConverged}/${request.vmHosts.length} VM hosts converged`,
      failed: [],
    };
  },
};

const SEVERITY: Record<GateOutcome, number> = { Successful: 0, Inconclusive: 1, Error: 2, Failed: 3 };

/**
 * Runs every source; the worst outcome wins (Failed over Error over Inconclusive over Successful), the first
 * source on a tie. When every source passes, the other sources' messages (metric numbers) are appended to the
 * first one's. A throwing source is an Error verdict.
 */
export function evaluateGate(
  sources: readonly HealthSource[],
  request: GateRequest,
): SourceVerdict & { source: string; advisories?: readonly AdvisoryOutcome[] } {
  const advisory: AdvisoryOutcome[] = [];
  const decided = worstOf(sources, request, advisory);
  return advisory.length > 0 ? { ...decided, advisories: advisory } : decided;
}

/** The deciding verdict of the enforced sources; advisory verdicts (with something to say) go to `advisory`. */
function worstOf(
  sources: readonly HealthSource[],
  request: GateRequest,
  advisory: AdvisoryOutcome[],
): SourceVerdict & { source: string } {
  let worst: (SourceVerdict & { source: string }) | undefined;
  const passed: string[] = [];
  for (const source of sources) {
    let v: SourceVerdict;
    try {
      v = source.evaluate(request);
    } catch (error) {
      v = {
        outcome: GateOutcome.Error,
        reason: GateReason.SourceError,
        message: `${source.name}: ${error instanceof Error ? error.message : String(error)}`,
        failed: [],
      };
    }
    if (v.advisory === true) {
      if (v.message !== '')
        advisory.push({ source: source.name, outcome: v.outcome, reason: v.reason, message: v.message });
      continue;
    }
    if (v.outcome === GateOutcome.Successful && v.message !== '') passed.push(v.message);
    if (worst === undefined || SEVERITY[v.outcome] > SEVERITY[worst.outcome]) worst = { ...v, source: source.name };
  }
  if (worst?.outcome === GateOutcome.Successful && passed.length > 1) return { ...worst, message: passed.join('; ') };
  return (
    worst ?? {
      outcome: GateOutcome.Inconclusive,
      reason: GateReason.SourceError,
      message: 'no health source configured',
      failed: [],
      source: 'none',
    }
  );
}
