// Where one halt trial's time went, hop by hop, from the services' own JSON logs (one machine, one clock):
//   detect   the benchmark's watch saw a pod in CrashLoopBackOff → an agent logged the unit failed
//   report   → the planner took the failure report ("failure reported"; its `publishedAt` splits the bus leg off)
//   decide   → the planner published the halt ("halt published")
//   deliver  → the last agent or bridge applied it ("command accepted"; `publishedAt` is the halt's own time)
// A hop whose log line is missing is left out (shown as "?"), never guessed.
import { MessageType } from '@meshwave/contracts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { percentile } from '../bus-store-fixtures.ts';

export interface HaltHops {
  readonly detectMs?: number;
  /** agent's verdict → its report published (the agent's own work before the bus) */
  readonly reportSendMs?: number;
  /** the failure report's publish → the planner took it */
  readonly reportBusMs?: number;
  readonly decideMs?: number;
  /** the halt's publish → the slowest target took it from the bus and applied it */
  readonly deliverMs?: number;
  /** of `deliverMs`, the slowest target's own handling (from its handler's start) */
  readonly handleMs?: number;
  /** the target that applied it last */
  readonly slowest?: string;
}

/** The first line `p` logged with message `msg` after its first `from` lines (and matching `where`). */
function lineOf(
  p: ServiceProcess,
  from: number,
  msg: string,
  where: (json: Readonly<Record<string, unknown>>) => boolean = () => true,
): Readonly<Record<string, unknown>> | undefined {
  return p.lines.slice(from).find((l) => l.json?.['msg'] === msg && where(l.json))?.json;
}

const timeOf = (json: Readonly<Record<string, unknown>> | undefined, field = 'time'): number | undefined => {
  const t = json?.[field];
  return typeof t === 'string' ? Date.parse(t) : undefined;
};

const span = (from: number | undefined, to: number | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : to - from;

/**
 * The hops of the trial that started at the log positions `from`, whose crash loop was seen at `crashedAt`:
 * `agents` judge units, `planners` decide, `targets` apply the halt.
 */
export function haltHops(
  from: ReadonlyMap<ServiceProcess, number>,
  crashedAt: number,
  parts: {
    readonly agents: readonly ServiceProcess[];
    readonly planners: readonly ServiceProcess[];
    readonly targets: readonly ServiceProcess[];
  },
): HaltHops {
  const at = (p: ServiceProcess): number => from.get(p) ?? 0;
  const failedAt = parts.agents
    .map((p) => timeOf(lineOf(p, at(p), 'unit failed')))
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b)[0];
  const reported = parts.planners.map((p) => lineOf(p, at(p), 'failure reported')).find((l) => l !== undefined);
  const published = parts.planners.map((p) => lineOf(p, at(p), 'halt published')).find((l) => l !== undefined);
  const applied = parts.targets.map((p) => ({
    name: p.name,
    line: lineOf(p, at(p), 'command accepted', (j) => j['type'] === MessageType.Halt),
  }));
  const last = applied
    .map((a) => ({ ...a, t: timeOf(a.line) }))
    .filter((a) => a.t !== undefined)
    .sort((a, b) => b.t! - a.t!)[0];
  return {
    detectMs: span(crashedAt, failedAt),
    reportSendMs: span(failedAt, timeOf(reported, 'publishedAt')),
    reportBusMs: span(timeOf(reported, 'publishedAt'), timeOf(reported)),
    decideMs: span(timeOf(reported), timeOf(published)),
    deliverMs: span(timeOf(last?.line, 'publishedAt'), last?.t),
    ...(typeof last?.line?.['handledMs'] === 'number' ? { handleMs: last.line['handledMs'] } : {}),
    ...(last !== undefined ? { slowest: last.name } : {}),
  };
}

/** One line: each hop in ms ("?" when its log line is missing). */
export function formatHops(h: HaltHops): string {
  const ms = (v: number | undefined): string => (v === undefined ? '?' : v.toFixed(0));
  return `detect ${ms(h.detectMs)} · report send ${ms(h.reportSendMs)} · bus ${ms(h.reportBusMs)} · decide ${ms(h.decideMs)} · deliver ${ms(h.deliverMs)} (last: ${h.slowest ?? '?'}, handling ${ms(h.handleMs)})`;
}

/** Each hop's p50 and p99 over the trials that logged it: which hop the slow trials lost their time in. */
export function hopSummary(trials: readonly HaltHops[]): string {
  const hops = ['detectMs', 'reportSendMs', 'reportBusMs', 'decideMs', 'deliverMs', 'handleMs'] as const;
  return hops
    .map((hop) => {
      const sorted = trials
        .map((t) => t[hop])
        .filter((v): v is number => v !== undefined)
        .sort((a, b) => a - b);
      if (sorted.length === 0) return `${hop} ?`;
      return `${hop.replace(/Ms$/, '')} ${percentile(sorted, 50).toFixed(0)}/${percentile(sorted, 99).toFixed(0)}`;
    })
    .join(' · ');
}
