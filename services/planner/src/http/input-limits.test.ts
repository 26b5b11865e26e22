import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

// Input that used to answer 500 (or never answered): each is now a 4xx naming the field (ADR 0013).

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const viewer = { authorization: 'Bearer viewer-token' };

let planner: Planner;
let app: FastifyInstance;

beforeAll(async () => {
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: createInMemoryStore(),
    config: { instanceId: 'limits-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  app = await buildApp({
    planner,
    tokens: hashTokens([{ name: 'victor', role: 'viewer', token: 'viewer-token' }]),
  });
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

/** `POST /v1/plans` with a YAML spec and an inline inventory (no leader or stored inventory needed). */
async function plan(yaml: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const inventory = { clusters: [{ name: 'prod-1', labels: {}, workloads: newFleetWorkloads(6) }], vmGroups: [] };
  const response = await app.inject({
    method: 'POST',
    url: '/v1/plans',
    headers: viewer,
    payload: { spec: yaml, inventory },
  });
  return { status: response.statusCode, body: response.json() };
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('POST /v1/plans refuses out-of-range rollout fields with 400 and their position', () => {
  it.each([
    ['soak: 999999999d', newRolloutYaml({ soak: '999999999d' }), 'spec.defaults.soak', 'a duration of at most 365d'],
    [
      'a soak of 10^30 seconds',
      newRolloutYaml({ soak: `${'9'.repeat(30)}s` }),
      'spec.defaults.soak',
      'a duration of at most 365d',
    ],
    [
      'batchEstimate: 999999999d',
      newRolloutYaml().replace('batchEstimate: 1s', 'batchEstimate: 999999999d'),
      'spec.defaults.batchEstimate',
      'a duration of at most 7d',
    ],
    [
      'maxUnavailable: 0',
      newRolloutYaml().replace('maxUnavailable: 50%', 'maxUnavailable: 0'),
      'spec.defaults.maxUnavailable',
      'at least 1 (or a percentage above 0%): with 0 nothing could ever restart',
    ],
  ])('%s', async (_, yaml, path, message) => {
    const { status, body } = await plan(yaml);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'INVALID_SPEC' });
    const field = path.split('.').at(-1)!;
    expect(body.details).toEqual([{ path, message, line: lineOf(yaml, `${field}:`), column: 5 }]);
  });

  it('refuses a YAML alias bomb as INVALID_SPEC at the alias, with line and column', async () => {
    const bomb = [
      'apiVersion: meshwave.io/v1alpha1',
      'l0: &l0 [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`),
      'kind: [*l9, *l9]',
      '',
    ].join('\n');
    const { status, body } = await plan(bomb);
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_SPEC');
    const [detail] = body.details as { path: string; line: number; column: number; message: string }[];
    expect(detail!.path).toMatch(/^l\d\[\d\]$/);
    expect(detail!.message).toMatch(/^aliases expand the document by more than 100000 nodes/);
    expect(bomb.split('\n')[detail!.line - 1]!.slice(detail!.column - 1)).toMatch(/^\*l\d/);
  });

  it('plans with a 30-star glob against every namespace (a backtracking regex never answered)', async () => {
    const glob = `${'*-'.repeat(30)}x`;
    const yaml = newRolloutYaml().replace(
      '{ name: wave-0, percent: 10 }',
      `{ name: wave-0, percent: 10, select: { namespaces: ["${glob}"] } }`,
    );
    const { status, body } = await plan(yaml);
    expect(status).toBe(200);
    expect((body.waves as { units: unknown[] }[])[0]!.units).toEqual([]);
  });
});

describe('POST /v1/meshes/split', () => {
  const twoCliques = {
    nodes: ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'].map((id) => ({ id, weight: 1 })),
    edges: [
      ['a1', 'a2'],
      ['a2', 'a3'],
      ['a1', 'a3'],
      ['b1', 'b2'],
      ['b2', 'b3'],
      ['b1', 'b3'],
      ['a3', 'b1'],
    ].map(([source, target]) => ({ source: source!, target: target!, weight: source![0] === target![0] ? 10 : 1 })),
  };
  const split = async (
    graph: unknown,
    options: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/meshes/split',
      headers: viewer,
      payload: { graph, options },
    });
    return { status: response.statusCode, body: response.json() };
  };

  it('returns the split: two cliques go to two meshes and only their bridge crosses', async () => {
    const { status, body } = await split(twoCliques, { meshes: 2, revision: '1-25-2' });
    expect(status).toBe(200);
    const meshOf = new Map(Object.entries(body.assignment as Record<string, string>));
    expect(meshOf.get('a1')).toBe(meshOf.get('a3'));
    expect(meshOf.get('a1')).not.toBe(meshOf.get('b1'));
    expect(body.crossMeshEdges).toHaveLength(1);
  });

  it.each([
    [
      'maxMeshSize: "0%" (it once looped until the heap ran out)',
      twoCliques,
      { maxMeshSize: '0%' },
      'body.options.maxMeshSize',
    ],
    ['maxMeshSize below one unit', twoCliques, { maxMeshSize: 0.5 }, 'body.options.maxMeshSize'],
    ['more meshes than nodes', twoCliques, { meshes: 7 }, 'body.options.meshes'],
    [
      'a pin far beyond the last possible mesh',
      { nodes: [{ id: 'a', pinned: `mesh-${'z'.repeat(30)}` }, { id: 'b' }] },
      { maxMeshSize: '50%' },
      'body.graph.nodes[0].pinned',
    ],
  ])('answers 422 for %s, naming the field', async (_, graph, options, path) => {
    const { status, body } = await split(graph, options);
    expect(status).toBe(422);
    expect(body.code).toBe('INVALID_REQUEST');
    expect((body.details as { path: string }[]).map((d) => d.path)).toEqual([path]);
  });

  it('splits a graph whose units weigh nothing (it once answered 500)', async () => {
    const { status, body } = await split(
      {
        nodes: [
          { id: 'a', weight: 0 },
          { id: 'b', weight: 0 },
        ],
      },
      { maxMeshSize: '25%' },
    );
    expect(status).toBe(200);
    expect(body.assignment).toEqual({ a: 'mesh-a', b: 'mesh-a' });
  });

  it('answers 400 for a graph without nodes and for counts beyond the stated maxima', async () => {
    const empty = await split({ nodes: [] }, { meshes: 2 });
    expect([empty.status, empty.body.details]).toEqual([
      400,
      [{ path: 'body.graph.nodes', message: 'the service graph has no nodes' }],
    ]);
    const many = await split(twoCliques, { meshes: 1001 });
    expect(many.status).toBe(400);
    expect((many.body.details as { path: string }[]).map((d) => d.path)).toEqual(['body.options.meshes']);
    const heavy = await split({ nodes: [{ id: 'a', weight: 1e7 }] }, { meshes: 1 });
    expect((heavy.body.details as { path: string }[]).map((d) => d.path)).toEqual(['body.graph.nodes[0].weight']);
  });
});
