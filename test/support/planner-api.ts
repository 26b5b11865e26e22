// A planner (in-memory bus and store, leader) behind its HTTP API, for tests that drive the API with inject()
// or a real socket.
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import {
  buildApp,
  createPlanner,
  hashTokens,
  type BuildAppOptions,
  type Planner,
  type PlannerConfig,
} from '@meshwave/planner';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { newFleetWorkloads } from '../integration/planner/scripted-agents.js';

export const apiTokens = hashTokens([
  { name: 'victor', role: 'viewer', token: 'viewer-token' },
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);

/** Authorization header of a token. */
export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

export interface PlannerApi {
  readonly app: FastifyInstance;
  readonly planner: Planner;
  close(): Promise<void>;
}

/** A leading planner whose inventory holds `clusters` (each with six workloads), behind `buildApp(options)`. */
export async function newPlannerApi(
  options: Omit<BuildAppOptions, 'planner' | 'tokens'> & {
    clusters?: readonly string[];
    /** planner settings beyond the test's (a policy, ...) */
    config?: Omit<PlannerConfig, 'instanceId' | 'leaseRenewMs' | 'leaseTtlMs'>;
  } = {},
): Promise<PlannerApi> {
  const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
  const planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: createInMemoryStore(),
    config: { ...options.config, instanceId: 'api-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!planner.isLeader()) throw new Error('the test planner did not become leader');
  const { clusters = ['prod-1', 'prod-2'], config: _config, ...appOptions } = options;
  await planner.putInventory(
    {
      clusters: clusters.map((name) => ({ name, labels: {}, workloads: newFleetWorkloads(6) })),
      vmGroups: [],
    },
    'test',
  );
  const app = await buildApp({ planner, tokens: apiTokens, ...appOptions });
  return {
    app,
    planner,
    close: async () => {
      await app.close();
      await planner.stop();
    },
  };
}
