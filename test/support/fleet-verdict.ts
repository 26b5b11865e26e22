// The end state of a drill as the observers see it, and the line each drill prints for the record (takeover
// times, restarts per Deployment, DLQ counts by reason, wall time).
import { eventually } from './eventually.ts';
import { NEW, type Fleet } from './fleet-processes.ts';
import { vmAgentReports, type FleetObservers } from './fleet-observers.ts';
import { proxyVersion } from '../integration/vm-bridge/vm-fleet-support.ts';

export interface FleetVerdict {
  /** per Deployment, from the ReplicaSets it owns (what stays on the apiserver) */
  readonly restarts: Record<string, number>;
  /** per Deployment, pod-template changes the watch saw */
  readonly templateChanges: Record<string, number>;
  /** Deployments with a live pod whose sidecar is not NEW's */
  readonly notOnNew: string[];
  /** per VM host: the version its proxy runs and how often its own reports show it switching */
  readonly vmHosts: Record<string, { running: string | undefined; switches: number }>;
}

/** Waits until every live pod of the fleet and every VM host run NEW (or `timeoutMs`), then reads the verdict. */
export async function fleetVerdict(
  fleet: Fleet,
  observers: FleetObservers,
  timeoutMs = 120_000,
): Promise<FleetVerdict> {
  const notOnNew = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const c of observers.clusters) {
      const live = await c.liveRevisions();
      for (const d of c.cluster.deployments) {
        const revisions = live[d] ?? [];
        if (revisions.length === 0 || revisions.some((r) => r !== NEW)) out.push(d);
      }
    }
    return out;
  };
  const vmRunning = async (): Promise<Record<string, string | undefined>> =>
    Object.fromEntries(
      await Promise.all(fleet.vmAgents.map(async (a) => [a.host, (await proxyVersion(a.readyPort))?.version] as const)),
    );
  await eventually(
    'every pod and VM host on the new revision',
    async () =>
      (await notOnNew()).length === 0 && Object.values(await vmRunning()).every((v) => v === NEW) ? true : undefined,
    { timeoutMs, intervalMs: 1000 },
  ).catch(() => undefined); // the verdict below names what is not there
  const restarts: Record<string, number> = {};
  const templateChanges: Record<string, number> = {};
  for (const c of observers.clusters) {
    Object.assign(restarts, await c.replicaSetRestarts());
    Object.assign(templateChanges, c.templateChanges());
  }
  const running = await vmRunning();
  const { switches } = await vmAgentReports(fleet);
  return {
    restarts,
    templateChanges,
    notOnNew: await notOnNew(),
    vmHosts: Object.fromEntries(
      Object.entries(running).map(([host, v]) => [host, { running: v, switches: switches.get(host) ?? 0 }]),
    ),
  };
}

/** Restarts per Deployment as counts of counts: `{ "1": 18 }` is every one of 18 restarted exactly once. */
export function restartHistogram(restarts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of Object.values(restarts)) out[String(n)] = (out[String(n)] ?? 0) + 1;
  return out;
}

/** One JSON line per drill on stderr (`DRILL {...}`): what the issue asks each drill to report. */
export function reportDrill(name: string, facts: Record<string, unknown>): void {
  process.stderr.write(`DRILL ${JSON.stringify({ drill: name, ...facts })}\n`);
}

/** The facts every outage drill reports: how long the outage was, how soon after it the rollout completed, the end state. */
export function outageFacts(
  observers: FleetObservers,
  verdict: FleetVerdict,
  at: { readonly started: number; readonly stopped: number; readonly restarted: number; readonly completed: number },
): Record<string, unknown> {
  return {
    outageMs: at.restarted - at.stopped,
    completedAfterRestartMs: at.completed - at.restarted,
    restarts: restartHistogram(verdict.restarts),
    refusals: observers.bus.refusalsByReason(),
    dlq: observers.bus.deadLettersByReason(),
    wallMs: Date.now() - at.started,
  };
}
