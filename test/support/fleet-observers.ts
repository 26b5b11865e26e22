// Independent observers of a fleet: they decide a drill, never the services' own claims.
// - the apiservers: a watch on the fleet's Deployments (each pod-template change is a restart) and pods (the
//   sidecar revision the injector wrote), and at the end the ReplicaSets each Deployment owns;
// - Kafka: the dead-letter topic by reason, and the refusals the agents and the bridge publish;
// - the agents' own logs (the commands each accepted, with their epoch) and the vm-agents' own reports.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { createKafkaBus, type EventBus, type Subscription } from '@meshwave/bus';
import { MessageType, Topic } from '@meshwave/contracts';
import { MeshwaveAnnotation } from '@meshwave/cluster-agent';
import { readReports, type AgentReportLine } from '../integration/vm-bridge/vm-fleet-support.ts';
import { NEW, RUN_LABEL, type Fleet, type FleetCluster } from './fleet-processes.ts';
import type { ServiceProcess } from './service-process.ts';

/** What the apiserver showed of one Deployment: each distinct pod template, in order. */
interface DeploymentHistory {
  readonly templates: string[];
  restartedFor?: string;
}

export interface PodRecord {
  readonly key: string;
  readonly deployment: string;
  /** the revision in the injector's `sidecar.istio.io/status`, or null without a sidecar */
  readonly revision: string | null;
}

/**
 * The value with object keys sorted and empty (null, undefined) fields dropped. The informer hands over its list
 * results deserialized by the client (fields in the client's order) and its watch events as the apiserver wrote
 * them (the server's order): hashed as they come, one unchanged template read both ways counted as a restart.
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

const hash = (value: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');

function sidecarRevision(pod: k8s.V1Pod): string | null {
  const status = pod.metadata?.annotations?.['sidecar.istio.io/status'];
  if (!status) return null;
  try {
    return (JSON.parse(status) as { revision?: string }).revision ?? null;
  } catch {
    return null;
  }
}

/** Watches one cluster's fleet Deployments and pods; informers re-list and resume after any error. */
export class ClusterObserver {
  readonly deployments = new Map<string, DeploymentHistory>();
  readonly pods = new Map<string, PodRecord>();
  private readonly informers: k8s.Informer<k8s.KubernetesObject>[] = [];
  private stopped = false;

  constructor(
    readonly cluster: FleetCluster,
    private readonly runId: string,
  ) {}

  async start(): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.cluster.env.kubeconfig);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const mine = new Set(this.cluster.deployments);
    const onDeployment = (d: k8s.V1Deployment): void => {
      const key = `${d.metadata?.namespace}/${d.metadata?.name}`;
      if (!mine.has(key)) return;
      const h = this.deployments.get(key) ?? { templates: [] };
      const t = hash(d.spec?.template);
      if (h.templates.at(-1) !== t) h.templates.push(t);
      const restartedFor = d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor];
      if (restartedFor !== undefined) h.restartedFor = restartedFor;
      this.deployments.set(key, h);
    };
    const onPod = (p: k8s.V1Pod): void => {
      const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
      const app = p.metadata?.labels?.['app'] ?? '';
      this.pods.set(key, { key, deployment: `${p.metadata?.namespace}/${app}`, revision: sidecarRevision(p) });
    };
    const deployments = k8s.makeInformer<k8s.V1Deployment>(kc, '/apis/apps/v1/deployments', () =>
      apps.listDeploymentForAllNamespaces(),
    );
    const pods = k8s.makeInformer<k8s.V1Pod>(
      kc,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces({ labelSelector: `${RUN_LABEL}=${this.runId}` }),
      `${RUN_LABEL}=${this.runId}`,
    );
    deployments.on('add', onDeployment);
    deployments.on('update', onDeployment);
    pods.on('add', onPod);
    pods.on('update', onPod);
    for (const informer of [deployments, pods] as k8s.Informer<k8s.KubernetesObject>[]) {
      informer.on('error', () => {
        if (!this.stopped) setTimeout(() => void informer.start().catch(() => undefined), 1000);
      });
      this.informers.push(informer);
      await informer.start();
    }
  }

  /** Deployments whose pod template the agent marked as restarted for NEW. */
  movedToNew(): number {
    return [...this.deployments.values()].filter((d) => d.restartedFor === NEW).length;
  }

  /** pod-template changes seen by the watch, per Deployment */
  templateChanges(): Record<string, number> {
    return Object.fromEntries(
      this.cluster.deployments.map((k) => [k, (this.deployments.get(k)?.templates.length ?? 1) - 1]),
    );
  }

  /** restarts per Deployment from what stays: the ReplicaSets it owns, less the first */
  async replicaSetRestarts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const key of this.cluster.deployments) {
      const [namespace, name] = key.split('/') as [string, string];
      const sets = await this.cluster.admin.apps.listNamespacedReplicaSet({ namespace });
      const owned = sets.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.name === name));
      out[key] = owned.length - 1;
    }
    return out;
  }

  /** The live pods of each Deployment with their sidecar revisions, read now from the apiserver. */
  async liveRevisions(): Promise<Record<string, (string | null)[]>> {
    const out: Record<string, (string | null)[]> = {};
    for (const ns of this.cluster.namespaces) {
      const pods = await this.cluster.admin.core.listNamespacedPod({ namespace: ns });
      for (const p of pods.items) {
        if (p.metadata?.deletionTimestamp) continue;
        const key = `${ns}/${p.metadata?.labels?.['app'] ?? ''}`;
        (out[key] ??= []).push(sidecarRevision(p));
      }
    }
    return out;
  }

  stop(): void {
    this.stopped = true;
    for (const i of this.informers) void i.stop();
  }
}

/** One command a cluster-agent or the bridge logged as accepted, with the leader epoch it carried. */
export interface AcceptedCommand {
  readonly at: number;
  readonly by: string;
  readonly type: string;
  readonly generation: number;
  readonly epoch: number;
}

/** The commands `p` accepted (its own "command accepted" lines), in order. */
export function acceptedCommands(p: ServiceProcess): AcceptedCommand[] {
  return p.lines.flatMap((l) =>
    l.json?.['msg'] === 'command accepted'
      ? [
          {
            // the process's own clock (pino's time), to compare with what it wrote elsewhere
            at: typeof l.json['time'] === 'string' ? Date.parse(l.json['time']) : l.at,
            by: p.name,
            type: String(l.json['type']),
            generation: Number(l.json['generation']),
            epoch: Number(l.json['epoch']),
          },
        ]
      : [],
  );
}

/** Commands accepted after one of a higher epoch: a deposed leader's command applied. Must be none. */
export function staleAccepted(commands: readonly AcceptedCommand[]): AcceptedCommand[] {
  let highest = 0;
  const stale: AcceptedCommand[] = [];
  for (const c of commands) {
    if (c.epoch < highest) stale.push(c);
    highest = Math.max(highest, c.epoch);
  }
  return stale;
}

/** Reads the fleet's topics as an outsider: the DLQ by reason and every refusal the agents and bridge publish. */
export class BusObserver {
  readonly deadLetters: { id: string | undefined; reason: string; groupId: string; topic: string; detail: string }[] =
    [];
  readonly refusals: { source: string; reason: string; detail?: string }[] = [];
  /** health reports that said their source was Degraded, and why */
  readonly degraded: { source: string; reason: string }[] = [];
  private readonly bus: EventBus;
  private readonly subscriptions: Subscription[] = [];
  private readonly groupPrefix: string;

  constructor(fleet: Fleet) {
    this.groupPrefix = `observer-${fleet.id}`;
    this.bus = createKafkaBus({
      brokers: fleet.env.kafka.brokers,
      source: 'drill-observer',
      // reads as the planner does: it trusts every agent's and the bridge's key
      signing: fleet.signing.signingFor('planner'),
      topicNames: fleet.topics,
    });
  }

  async start(): Promise<void> {
    this.subscriptions.push(
      await this.bus.subscribeDeadLetters({
        groupId: `${this.groupPrefix}-dlq`,
        fromBeginning: true,
        handler: async (d) => {
          this.deadLetters.push({
            id: d.headers['ce_id'],
            reason: d.reason,
            groupId: d.groupId,
            topic: d.topic,
            detail: d.detail,
          });
        },
      }),
      await this.bus.subscribe({
        topic: Topic.Events,
        groupId: `${this.groupPrefix}-events`,
        fromBeginning: true,
        types: [MessageType.CommandRejected, MessageType.Health, MessageType.HealthDelta],
        handler: async (m) => {
          if ((m.type === MessageType.Health || m.type === MessageType.HealthDelta) && m.data.degraded)
            this.degraded.push({ source: m.data.source, reason: m.data.degraded.reason });
          if (m.type !== MessageType.CommandRejected) return;
          this.refusals.push({
            source: m.data.source,
            reason: m.data.reason,
            ...(m.data.detail ? { detail: m.data.detail } : {}),
          });
        },
      }),
    );
  }

  /** DLQ entries by reason, the observer's own refusals left out */
  deadLettersByReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of this.deadLetters)
      if (!d.groupId.startsWith(this.groupPrefix)) out[d.reason] = (out[d.reason] ?? 0) + 1;
    return out;
  }

  refusalsByReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.refusals) out[r.reason] = (out[r.reason] ?? 0) + 1;
    return out;
  }

  async stop(): Promise<void> {
    for (const s of this.subscriptions) await s.close().catch(() => undefined);
    await this.bus.close().catch(() => undefined);
  }
}

/** What the vm-agents themselves reported, per host: the last report and how often each switched version. */
export async function vmAgentReports(
  fleet: Fleet,
): Promise<{ last: Map<string, AgentReportLine>; switches: Map<string, number> }> {
  // a fleet without VM hosts started no vm-agent, so none wrote the log
  const reports = fleet.vmAgents.length === 0 ? [] : await readReports(`${fleet.dir}/vm-agents.log`);
  const last = new Map<string, AgentReportLine>();
  const switches = new Map<string, number>();
  for (const r of reports) {
    const before = last.get(r.host)?.runningVersion;
    if (before !== undefined && before !== null && r.runningVersion !== null && before !== r.runningVersion)
      switches.set(r.host, (switches.get(r.host) ?? 0) + 1);
    last.set(r.host, r);
  }
  return { last, switches };
}

/** Every observer of a fleet, started together. */
export interface FleetObservers {
  readonly clusters: readonly ClusterObserver[];
  readonly bus: BusObserver;
  movedToNew(): number;
  stop(): Promise<void>;
}

export async function observeFleet(fleet: Fleet): Promise<FleetObservers> {
  const clusters = fleet.clusters.map((c) => new ClusterObserver(c, fleet.id));
  for (const c of clusters) await c.start();
  const bus = new BusObserver(fleet);
  await bus.start();
  return {
    clusters,
    bus,
    movedToNew: () => clusters.reduce((n, c) => n + c.movedToNew(), 0),
    stop: async () => {
      for (const c of clusters) c.stop();
      await bus.stop();
    },
  };
}
