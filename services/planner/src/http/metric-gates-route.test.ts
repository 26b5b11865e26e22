import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([{ name: 'ada', role: 'admin', token: 'admin-token' }]);
const headers = { authorization: 'Bearer admin-token', 'content-type': 'application/yaml' };

let planner: Planner;
let app: FastifyInstance;

beforeAll(async () => {
  // no metricSampler: this planner has no Prometheus
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: createInMemoryStore(),
    config: { instanceId: 'metric-gates-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  app = await buildApp({ planner, tokens });
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/inventory',
    headers: { authorization: 'Bearer admin-token' },
    payload: { clusters: [{ name: 'prod-1', labels: {}, workloads: newFleetWorkloads(6) }], vmGroups: [] },
  });
  expect(put.statusCode).toBe(204);
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

function withGates(name: string, gates: string[]): string {
  return newRolloutYaml({ name }).replace(
    '  waves:\n',
    `  gates:\n${gates.map((g) => `    ${g}\n`).join('')}  waves:\n`,
  );
}

describe('metric gates without Prometheus', () => {
  it('Given no Prometheus, When a rollout asks for errorRate and latencyP99, Then it is refused with 422 naming both spec paths', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers,
      payload: withGates('metric', ['errorRate: { max: 0.01 }', 'latencyP99: { maxIncrease: 20% }']),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'INVALID_REQUEST',
      details: [
        { path: 'spec.gates.errorRate', message: expect.stringContaining('MESHWAVE_PROMETHEUS_URL') },
        { path: 'spec.gates.latencyP99', message: expect.stringContaining('MESHWAVE_PROMETHEUS_URL') },
      ],
    });
    expect((await app.inject({ method: 'GET', url: '/v1/rollouts', headers })).json()).toEqual({ rollouts: [] });
  });

  it('Given no Prometheus, When a rollout asks only for readiness, Then it is created', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers,
      payload: withGates('readiness-only', ['readiness: { minAvailable: 90% }']),
    });
    expect(res.statusCode).toBe(201);
  });
});
