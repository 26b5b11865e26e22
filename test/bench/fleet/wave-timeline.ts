// Where a rollout's time went, wave by wave, from the planner's own record (its transitions and gate verdicts),
// beside the bound's terms (fleet-bound.ts): the wait before a wave went out (the previous gate's pass to this
// dispatch: approvals, the reconcile that dispatches), its convergence against max(pods, VM batches), its soak
// against the soak, and its final gate (soak elapsed to the pass: the metric samples' wait).
import type { RolloutStatus, TransitionRecord } from '@meshwave/contracts';
import type { FleetBound } from './fleet-bound.ts';

export interface WaveTiming {
  readonly wave: string;
  /** from the previous wave's pass (or the rollout's creation) to this wave's dispatch, seconds */
  readonly startSeconds?: number;
  /** dispatch to convergence (soak start) */
  readonly convergeSeconds?: number;
  /** the bound's term for it: max(pods, VM batches) */
  readonly convergeBound: number;
  /** soak start to soak elapsed */
  readonly soakSeconds?: number;
  readonly soakBound: number;
  /** soak elapsed to the gate's pass */
  readonly gateSeconds?: number;
  /** final verdicts in that time, by outcome */
  readonly finalVerdicts: Readonly<Record<string, number>>;
  /** the first message of each reason a final verdict gave that was not a pass */
  readonly notPassed: readonly string[];
  /** this wave's dispatch to its pass */
  readonly totalSeconds?: number;
  readonly bound: number;
}

const seconds = (from: string | undefined, to: string | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : (Date.parse(to) - Date.parse(from)) / 1000;

/** The first transition of `wave` with `trigger` (a wave passes once in a run where nothing fails). */
function at(transitions: readonly TransitionRecord[], wave: number, triggers: readonly string[]): string | undefined {
  return transitions.find((t) => t.wave === wave && triggers.includes(t.trigger))?.at;
}

export function waveTimeline(status: RolloutStatus, bound: FleetBound): WaveTiming[] {
  const t = status.transitions;
  let previousPass: string | undefined = status.createdAt;
  return bound.waves.map((w, i): WaveTiming => {
    const dispatched = at(t, i, ['dispatched']);
    const converged = at(t, i, ['converged']);
    const soaked = at(t, i, ['soak-elapsed']);
    const passed = at(t, i, ['gate-passed', 'last-gate-passed']);
    const finalVerdicts: Record<string, number> = {};
    const notPassed = new Map<string, string>();
    for (const v of status.gateVerdicts) {
      if (v.wave !== i || !v.final) continue;
      finalVerdicts[v.outcome] = (finalVerdicts[v.outcome] ?? 0) + 1;
      if (v.outcome !== 'Successful' && !notPassed.has(v.reason))
        notPassed.set(v.reason, `${v.outcome} ${v.reason} at ${v.at}: ${v.message.slice(0, 300)}`);
    }
    const timing: WaveTiming = {
      wave: w.wave,
      ...opt('startSeconds', seconds(previousPass, dispatched)),
      ...opt('convergeSeconds', seconds(dispatched, converged)),
      convergeBound: Math.max(w.podSeconds, w.vmSeconds),
      ...opt('soakSeconds', seconds(converged, soaked)),
      soakBound: w.soakSeconds,
      ...opt('gateSeconds', seconds(soaked, passed)),
      finalVerdicts,
      notPassed: [...notPassed.values()],
      ...opt('totalSeconds', seconds(dispatched, passed)),
      bound: w.seconds,
    };
    previousPass = passed;
    return timing;
  });
}

function opt<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/** One line per wave: each step's seconds, with the bound's term beside it. */
export function formatTimeline(timeline: readonly WaveTiming[]): string {
  const s = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)} s`);
  return timeline
    .map((w) => {
      const verdicts = Object.entries(w.finalVerdicts)
        .map(([outcome, n]) => `${n} ${outcome}`)
        .join(', ');
      return (
        `  ${w.wave.padEnd(12)} start ${s(w.startSeconds)}; converge ${s(w.convergeSeconds)} (bound ${s(w.convergeBound)}); ` +
        `soak ${s(w.soakSeconds)} (bound ${s(w.soakBound)}); gate ${s(w.gateSeconds)} (final verdicts: ${verdicts || 'none'}); ` +
        `wave ${s(w.totalSeconds)} (bound ${s(w.bound)})` +
        w.notPassed.map((m) => `\n    ${m}`).join('')
      );
    })
    .join('\n');
}
