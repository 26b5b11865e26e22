import type { EventBus } from '@meshwave/bus';
import { WorkloadKind } from '@meshwave/contracts';
import {
  createClusterAgent,
  createSimulatedCluster,
  proxyVersionOfRevision,
  simulatedAdmission,
  type ClusterAgent,
  type SimulatedCluster,
} from '@meshwave/cluster-agent';
import type { StateStore } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import { createSimulatedVmFleet, type SimulatedVmFleet } from './simulated-vm-fleet.js';
import { demoWorkloadKind, demoWorkloadNames, demoWorkloadReplicas, type DemoFleetConfig } from './fleet-config.js';

/**
 * Where the simulated fleet's real services (cluster agents, vm-bridge) run: the embedded demo's in-memory bus
 * and store, or the fleet benchmark's Kafka and Redis (its second mode, with the planner in a process of its own).
 */
export interface SimulatedFleetWiring {
  /** the bus of one service (`cluster-agent/<name>`, `vm-bridge`) */
  busFor(source: string): EventBus;
  /** the store of one service */
  storeFor(source: string): StateStore;
  /** prefix of the services' Kafka consumer groups: apart per run on a shared Kafka; default the services' own */
  readonly consumerGroupPrefix?: string;
  /** registers how to stop a started part (stopped in reverse order) */
  onStarted(stop: () => Promise<void>): void;
  /** the logger of one cluster agent (`cluster-agent/<name>`); default none (the demo's agents log nothing) */
  loggerFor?(source: string): Logger;
}

type AmbientCluster = DemoFleetConfig['ambient'][number];

const versionOf = (revision: string): string => proxyVersionOfRevision(revision) ?? revision;

/**
 * A cluster's ambient mode (ADR 0051): its nodes spread over the pools, the istio-cni and ztunnel DaemonSets whose
 * templates the operator updated (OnDelete) while every pod still runs `installed`, its ambient namespaces with
 * sidecarless workloads (no revision label: ztunnel carries their traffic) and a waypoint each.
 */
function ambientOf(fleet: DemoFleetConfig, a: AmbientCluster | undefined) {
  if (a === undefined) return { namespaces: [], config: undefined };
  const revision = a.nodeAgentRevision ?? fleet.revisions.at(-1) ?? fleet.installed;
  const agent = { revision, version: versionOf(revision), podVersion: versionOf(fleet.installed) };
  return {
    namespaces: a.namespaces.map((ns) => ({
      name: ns,
      labels: { 'istio.io/dataplane-mode': 'ambient' },
      workloads: demoWorkloadNames(a.workloadsPerNamespace).map((name, i) => ({
        name,
        replicas: 1 + (i % 2),
        labels: { app: name, team: ns },
      })),
    })),
    config: {
      nodes: Array.from({ length: a.nodes }, (_, i) => ({
        name: `${a.pools[i % a.pools.length]!}-${i + 1}`,
        labels: { 'meshwave.io/node-pool': a.pools[i % a.pools.length]! },
      })),
      nodeAgents: [
        { kind: 'istio-cni' as const, ...agent },
        { kind: 'ztunnel' as const, ...agent },
      ],
      waypoints: a.waypoints
        ? a.namespaces.map((ns) => ({ namespace: ns, name: 'waypoint', revision: fleet.installed }))
        : [],
    },
  };
}

/** One simulated cluster per cluster of the fleet file, its namespaces labelled as the file says, its gateways. */
export function simulatedClustersOf(fleet: DemoFleetConfig): SimulatedCluster[] {
  const clusters = fleet.clusters.map((c) => clusterOf(fleet, c));
  for (const g of fleet.gateways) {
    const labels = { app: g.name, istio: 'ingressgateway' };
    clusters[fleet.clusters.findIndex((c) => c.name === g.cluster)]?.createWorkload({
      namespace: g.namespace,
      name: g.name,
      replicas: g.replicas,
      labels,
      templateLabels: { ...labels, 'istio.io/rev': fleet.installed },
      templateAnnotations: { 'inject.istio.io/templates': 'gateway' },
    });
  }
  return clusters;
}

function clusterOf(fleet: DemoFleetConfig, c: DemoFleetConfig['clusters'][number]): SimulatedCluster {
  const ambient = ambientOf(
    fleet,
    fleet.ambient.find((a) => a.cluster === c.name),
  );
  return createSimulatedCluster({
    name: c.name,
    podStartMs: fleet.timing.podStartMs,
    progressDeadlineSeconds: fleet.timing.progressDeadlineSeconds,
    revisions: fleet.revisions,
    faults: {
      crashLoop: fleet.faults.crashLoop.filter((f) => f.cluster === c.name),
      slowRollout: fleet.faults.slowRollout.filter((f) => f.cluster === c.name),
      sidecarMismatch: fleet.faults.sidecarMismatch.filter((f) => f.cluster === c.name),
    },
    namespaces: [
      ...c.namespaces.map((ns) => ({
        name: ns,
        labels: ((c.revisionLabel ?? fleet.revisionLabel) === 'namespace'
          ? { 'istio.io/rev': fleet.installed }
          : {}) as Record<string, string>,
        workloads: demoWorkloadNames(c.workloadsPerNamespace).map((name, i) => {
          const kind = demoWorkloadKind(i);
          return {
            name,
            kind: WorkloadKind[kind],
            replicas: demoWorkloadReplicas(i),
            labels: { app: name, tier: i % 3 === 0 ? 'low' : 'high', team: ns },
            ...((c.revisionLabel ?? fleet.revisionLabel) === 'workload'
              ? { templateLabels: { app: name, 'istio.io/rev': fleet.installed } }
              : {}),
          };
        }),
      })),
      ...ambient.namespaces,
    ],
    ...(ambient.config === undefined ? {} : { ambient: ambient.config }),
  });
}

/** The real vm-bridge and vm-agents of the fleet's VM groups, with simulated proxies. */
export async function startSimulatedVms(
  fleet: DemoFleetConfig,
  wiring: SimulatedFleetWiring,
): Promise<SimulatedVmFleet> {
  const vms = await createSimulatedVmFleet({
    groups: fleet.vmGroups.map((g) => ({
      name: g.name,
      hosts: g.hosts,
      initialVersion: fleet.installed,
      labels: g.labels,
    })),
    versions: fleet.revisions,
    bus: wiring.busFor('vm-bridge'),
    store: wiring.storeFor('vm-bridge'),
    proxyStartMs: fleet.timing.vmRestartMs,
    ...(wiring.consumerGroupPrefix === undefined
      ? {}
      : { bridgeSettings: { consumerGroup: `${wiring.consumerGroupPrefix}meshwave-vm-bridge` } }),
  });
  wiring.onStarted(() => vms.close());
  return vms;
}

/**
 * The real cluster agent of each simulated cluster, with the demo's short intervals, started. Each agent's
 * admission webhook runs in front of the injector, as the chart registers it in a real cluster.
 */
export async function startClusterAgents(
  fleet: DemoFleetConfig,
  clusters: readonly SimulatedCluster[],
  wiring: SimulatedFleetWiring,
): Promise<ClusterAgent[]> {
  const agents = fleet.clusters.map((c, i) => {
    const source = `cluster-agent/${c.name}`;
    return createClusterAgent({
      cluster: c.name,
      kubernetes: clusters[i]!,
      // the simulated cluster also takes the gateway canary's writes (the chart's `gatewayCanary: true`) and, where
      // the fleet file gives it nodes, ambient mode's (the chart's `ambient: true`)
      gateways: clusters[i]!,
      ...(fleet.ambient.some((a) => a.cluster === c.name) ? { ambient: clusters[i]!.ambient } : {}),
      bus: wiring.busFor(source),
      store: wiring.storeFor(source),
      ...(wiring.loggerFor === undefined ? {} : { logger: wiring.loggerFor(source) }),
      clusterLabels: c.labels,
      ...(wiring.consumerGroupPrefix === undefined
        ? {}
        : { groupId: `${wiring.consumerGroupPrefix}cluster-agent.${c.name}` }),
      intervals: {
        resyncMs: 5_000,
        heartbeatMs: 2_000,
        healthMs: 2_000,
        inventoryDebounceMs: 200,
        progressDebounceMs: 200,
      },
    });
  });
  agents.forEach((agent, i) => clusters[i]!.setAdmission(simulatedAdmission(agent)));
  for (const agent of agents) {
    wiring.onStarted(() => agent.stop());
    await agent.start();
  }
  return agents;
}
