import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { WireLayout, type ApiRole } from '@meshwave/contracts';
import type { ClusterAgent, SimulatedCluster } from '@meshwave/cluster-agent';
import { buildApp, createPlanner, hashTokens, type Planner } from '@meshwave/planner';
import { createSimulatedMeshMetrics } from './simulated-mesh-metrics.js';
import { createInMemoryStore } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import type { SimulatedVmFleet } from './simulated-vm-fleet.js';
import { CliError, CliErrorCode } from '../errors.js';
import type { DemoFleetConfig } from './fleet-config.js';
import {
  simulatedClustersOf,
  startClusterAgents,
  startSimulatedVms,
  type SimulatedFleetWiring,
} from './simulated-fleet-parts.js';

/** The API token of the embedded planner: it listens on 127.0.0.1 only. */
export const DEMO_TOKEN = 'meshwave-demo-admin';

export interface EmbeddedFleetOptions {
  readonly fleet: DemoFleetConfig;
  readonly port: number;
  readonly host?: string;
  /** API tokens besides the demo's admin token (the browser tests sign in as a viewer too) */
  readonly extraTokens?: readonly { name: string; role: ApiRole; token: string }[];
}

/**
 * A whole fleet in one process: the real planner (engine, API), one real cluster-agent per simulated
 * cluster, the real vm-bridge and vm-agents with simulated proxies, all on the in-memory bus and store.
 * Only what is behind the agents' ports (Kubernetes, the proxy process) is simulated.
 */
export interface EmbeddedFleet {
  readonly planner: Planner;
  readonly clusters: readonly SimulatedCluster[];
  readonly agents: readonly ClusterAgent[];
  readonly vms: SimulatedVmFleet;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the fleet; if any part fails to start (the API port is taken, say), stops every part started so far
 * before it throws, so the process can exit instead of hanging on their timers.
 */
export async function startEmbeddedFleet(options: EmbeddedFleetOptions): Promise<EmbeddedFleet> {
  const started: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of started.splice(0).reverse()) await stop();
  };
  try {
    return await startParts(options, started, stopAll);
  } catch (err) {
    await stopAll();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CliError(CliErrorCode.PortInUse, `port ${options.port} is in use; try --port`, {
        context: { port: options.port },
        cause: err,
      });
    throw err;
  }
}

async function startParts(
  options: EmbeddedFleetOptions,
  started: (() => Promise<void>)[],
  stopAll: () => Promise<void>,
): Promise<EmbeddedFleet> {
  const { fleet } = options;
  const signing = { keys: [{ id: 'demo', secret: randomBytes(32) }], activeKeyId: 'demo' };
  const broker = createInMemoryBroker();
  const store = createInMemoryStore();
  started.push(() => store.close());
  const busFor = (source: string): EventBus => {
    // every part is in this process, so the newest wire layout is safe here (no older reader: ADR 0026)
    const bus = createInMemoryBus({ broker, source, signing, wireLayout: WireLayout.V3 });
    started.push(() => bus.close());
    return bus;
  };

  const clusters = simulatedClustersOf(fleet);
  for (const c of clusters) started.push(() => Promise.resolve(c.close()));

  const planner = createPlanner({
    bus: busFor('planner'),
    store,
    config: {
      instanceId: 'embedded',
      // The only planner of the process: no other replica waits to take over, so a short lease buys nothing and
      // a loop stalled past it (seconds, at 100,000 units in one process) made it lapse and redo its takeover
      // (every desired state re-sent, the operator's calls answered NOT_LEADER): issue 15, ADR 0044.
      leaseTtlMs: 30_000,
      leaseRenewMs: 1_000,
      resyncAfterMs: 5_000,
      gateRetryMs: 1_000,
      timerTickMs: 100,
      logger: silentLogger(),
      // The example's metric gates (errorRate, latencyP99) judge the simulated mesh's request metrics.
      metricSampler: createSimulatedMeshMetrics(clusters),
    },
  });

  // The API listens before any heavy start-up work (VM hosts, agents' first lists, the engine's first reconciles):
  // work that keeps the loop busy must never starve the API's start.
  const app = await buildApp({
    planner,
    tokens: hashTokens([{ name: 'demo-operator', token: DEMO_TOKEN, role: 'admin' }, ...(options.extraTokens ?? [])]),
  });
  started.push(() => app.close());
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port });
  const address = (app.server as Server).address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  const wiring: SimulatedFleetWiring = {
    busFor,
    storeFor: () => store,
    onStarted: (stop) => started.push(stop),
  };
  const vms = await startSimulatedVms(fleet, wiring);
  const agents = await startClusterAgents(fleet, clusters, wiring);
  started.push(() => planner.stop());
  await planner.start();
  for (let i = 0; !planner.isLeader(); i++) {
    if (i > 200) throw new Error('the embedded planner did not take the leader lease');
    await new Promise((r) => setTimeout(r, 50));
  }
  // VM groups are known to the planner from the operator's base inventory; clusters from their agents' reports.
  await planner.putInventory({ clusters: [], vmGroups: vms.inventory() }, 'demo');

  return {
    planner,
    clusters,
    agents,
    vms,
    url: `http://${host}:${port}`,
    close: stopAll,
  };
}
