import type { EventBus } from '@meshwave/bus';
import { WorkloadKind } from '@meshwave/contracts';
import {
  createClusterAgent,
  createSimulatedCluster,
  simulatedAdmission,
  type ClusterAgent,
  type SimulatedCluster,
} from '@meshwave/cluster-agent';
import type { StateStore } from '@meshwave/store';
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
}

/** One simulated cluster per cluster of the fleet file, its namespaces labelled as the file says, its gateways. */
export function simulatedClustersOf(fleet: DemoFleetConfig): SimulatedCluster[] {
  const clusters = fleet.clusters.map((c) =>
    createSimulatedCluster({
      name: c.name,
      podStartMs: fleet.timing.podStartMs,
      progressDeadlineSeconds: fleet.timing.progressDeadlineSeconds,
      revisions: fleet.revisions,
      faults: {
        crashLoop: fleet.faults.crashLoop.filter((f) => f.cluster === c.name),
        slowRollout: fleet.faults.slowRollout.filter((f) => f.cluster === c.name),
        sidecarMismatch: fleet.faults.sidecarMismatch.filter((f) => f.cluster === c.name),
      },
      namespaces: c.namespaces.map((ns) => ({
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
    }),
  );
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
      // the simulated cluster also takes the gateway canary's writes (the chart's `gatewayCanary: true`)
      gateways: clusters[i]!,
      bus: wiring.busFor(source),
      store: wiring.storeFor(source),
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
