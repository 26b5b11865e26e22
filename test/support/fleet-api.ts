// Talking to a fleet's planners over their HTTP API, as an operator does: who leads (each replica's /readyz),
// rollouts applied as YAML, their status read back.
import type { RolloutStatus } from '@meshwave/contracts';
import { eventually } from './eventually.ts';
import { API_TOKEN, NEW, OLD, plannerUrl, type Fleet, type FleetApi } from './fleet-processes.ts';
import type { ServiceProcess } from './service-process.ts';

export interface Leader {
  readonly process: ServiceProcess;
  readonly epoch: number;
}

async function call<T>(
  p: ServiceProcess,
  method: string,
  route: string,
  body?: string,
  contentType = 'application/yaml',
  timeoutMs = 10_000,
) {
  const res = await fetch(`${plannerUrl(p)}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/**
 * The live replica whose /readyz says it leads and is ready, with its epoch; none while nobody does. Replicas are
 * asked at once, each for at most 3 s: a stopped (SIGSTOP) one never answers.
 */
export async function currentLeader(fleet: Fleet): Promise<Leader | undefined> {
  const answers = await Promise.all(
    fleet.planners.map(async (p) => {
      if (!p.alive()) return undefined;
      try {
        const r = await call<{ status: string; leader?: boolean; epoch?: number }>(
          p,
          'GET',
          '/readyz',
          undefined,
          undefined,
          3000,
        );
        return r.body.leader === true && r.body.status === 'ready'
          ? { process: p, epoch: r.body.epoch ?? 0 }
          : undefined;
      } catch {
        return undefined; // not listening yet, stopped or paused: not the leader
      }
    }),
  );
  return answers.find((a) => a !== undefined);
}

/** Waits for a leader, other than `not` when given. */
export function waitForLeader(fleet: Fleet, not?: ServiceProcess, timeoutMs = 60_000): Promise<Leader> {
  return eventually(
    not ? `a leader other than ${not.name}` : 'a leader',
    async () => {
      const l = await currentLeader(fleet);
      return l !== undefined && l.process !== not ? l : undefined;
    },
    timeoutMs,
  );
}

/** The API of the fleet: the leader when there is one, else any live replica. */
export function fleetApi(fleet: Fleet): FleetApi {
  return async <T>(method: string, route: string, body?: string, contentType?: string) => {
    const leader = await currentLeader(fleet);
    const p = leader?.process ?? fleet.planners.find((x) => x.alive());
    if (!p) throw new Error('no planner process is running');
    return call<T>(p, method, route, body, contentType);
  };
}

export interface DrillRolloutOptions {
  readonly name: string;
  /** the target revision (default NEW) */
  readonly to?: string;
  /** the waves: cumulative percents of the fleet's workloads, or of the namespaces named (default 25, 60, 100) */
  readonly waves?: readonly (number | { readonly percent: number; readonly namespaces: readonly string[] })[];
  readonly soak?: string;
  /** per cluster (default 1) */
  readonly maxUnavailable?: number;
  readonly onGateFailure?: 'halt' | 'rollback-wave' | 'rollback-all';
  /** the wave index the VM group rides with (default the last); null: no VMs */
  readonly vmWave?: number | null;
  readonly vmMaxUnavailable?: number;
  readonly granularity?: 'workload' | 'namespace';
}

/** A rollout of the fleet's own namespaces (and VM group) from OLD to NEW (or `to`); nothing else on the apiservers. */
export function drillRolloutYaml(fleet: Fleet, o: DrillRolloutOptions): string {
  const waves = o.waves ?? [25, 60, 100];
  const vmWave = o.vmWave === undefined ? waves.length - 1 : o.vmWave;
  const select = `{ clusters: ["dr-${fleet.id}-*"], namespaces: ["dr-${fleet.id}-*"] }`;
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: ${o.name}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${o.to ?? NEW}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    `  granularity: ${o.granularity ?? 'workload'}`,
    '  defaults:',
    `    soak: ${o.soak ?? '1s'}`,
    `    maxUnavailable: ${o.maxUnavailable ?? 1}`,
    '    batchEstimate: 5s',
    `  onGateFailure: ${o.onGateFailure ?? 'halt'}`,
    '  waves:',
    ...waves.map((w, i) =>
      typeof w === 'number'
        ? `    - { name: wave-${i}, percent: ${w}, select: ${select} }`
        : `    - { name: wave-${i}, percent: ${w.percent}, select: { namespaces: ${JSON.stringify(w.namespaces)} } }`,
    ),
    ...(vmWave === null
      ? []
      : [
          '  vms:',
          `    - { select: { groups: ["${fleet.vmGroup}"] }, wave: wave-${vmWave}, maxUnavailable: ${o.vmMaxUnavailable ?? 2} }`,
        ]),
    '',
  ].join('\n');
}

/** Applies a rollout through the API (201 expected) and returns its id. */
export async function applyRollout(api: FleetApi, yaml: string): Promise<string> {
  const created = await eventually(
    'the rollout created',
    async () => {
      const r = await api<{ id?: string; code?: string; message?: string }>('POST', '/v1/rollouts', yaml);
      if (r.status === 201 && r.body.id) return r.body.id;
      if (r.status >= 400 && r.status < 500 && r.status !== 409)
        throw new Error(`${r.status}: ${JSON.stringify(r.body)}`);
      return undefined;
    },
    60_000,
  );
  return created;
}

export async function rolloutStatus(api: FleetApi, id: string): Promise<RolloutStatus> {
  const r = await api<RolloutStatus>('GET', `/v1/rollouts/${encodeURIComponent(id)}`);
  if (r.status !== 200) throw new Error(`GET rollout ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Waits until the rollout is in one of `phases` (a terminal phase other than those fails at once). */
export async function waitForPhase(
  api: FleetApi,
  id: string,
  phases: readonly string[],
  timeoutMs = 240_000,
): Promise<RolloutStatus> {
  const terminal = ['Completed', 'RolledBack', 'Aborted', 'Failed'];
  const s = await eventually(
    `rollout ${id} in ${phases.join(' or ')}`,
    async () => {
      const s = await rolloutStatus(api, id);
      return phases.includes(s.phase) || terminal.includes(s.phase) ? s : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
  if (!phases.includes(s.phase)) throw new Error(`rollout ${id} ended ${s.phase}, not ${phases.join(' or ')}`);
  return s;
}
