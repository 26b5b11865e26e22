import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MAX_PAGE_LIMIT } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([
  { name: 'victor', role: 'viewer', token: 'viewer-token' },
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const day = 86_400_000;

interface Entry {
  id: string;
  actor: string;
  action: string;
  scope: string;
}
interface Page<T> {
  nextCursor?: string;
  entries: T[];
  transitions: T[];
  total: number;
}

// The store's clock (audit ids and retention) is the test's; the planner keeps the system clock.
let now = Date.parse('2026-11-22T20:00:00.000Z');
const store = createInMemoryStore({ now: () => now, auditRetentionMs: 30 * day });
let planner: Planner;
let app: FastifyInstance;
let rolloutId: string;

/** Follows `nextCursor` from the newest page to the oldest; returns the items oldest first. */
async function readAll<T>(url: string, key: 'entries' | 'transitions', limit: number): Promise<T[]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const res = await app.inject({
      method: 'GET',
      url: `${url}${url.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      headers: as('viewer-token'),
    });
    expect(res.statusCode).toBe(200);
    const page = res.json<Page<T>>();
    expect(page[key].length).toBeLessThanOrEqual(limit);
    pages.unshift(page[key]);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages.flat();
}

beforeAll(async () => {
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store,
    config: { instanceId: 'audit-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  app = await buildApp({ planner, tokens });
  // Given an inventory replaced by an admin, a rollout, and an operator pausing and resuming it three times
  const inventory = { clusters: [{ name: 'prod-1', labels: {}, workloads: newFleetWorkloads(4) }], vmGroups: [] };
  expect(
    (await app.inject({ method: 'PUT', url: '/v1/inventory', headers: as('admin-token'), payload: inventory }))
      .statusCode,
  ).toBe(204);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/rollouts',
    headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
    payload: newRolloutYaml({ name: 'audited', waves: [100] }),
  });
  expect(created.statusCode).toBe(201);
  rolloutId = created.json<{ id: string }>().id;
  for (let i = 0; i < 3; i++) {
    for (const action of ['pause', 'resume']) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/rollouts/${rolloutId}/${action}`,
        headers: as('operator-token'),
        payload: {},
      });
      expect(res.statusCode).toBe(200);
    }
  }
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

describe('GET /v1/audit', () => {
  it('Given a cursor beyond the safe integers or a scope with braces, Then 400 naming the parameter, not 500', async () => {
    for (const [query, path] of [
      ['cursor=9999999999999999-0', 'querystring.cursor'],
      ['scope=a%7Bb%7D', 'querystring.scope'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/v1/audit?${query}`, headers: as('viewer-token') });
      expect(res.statusCode, query).toBe(400);
      expect(JSON.stringify(res.json().details), query).toContain(path.split('.')[1]);
    }
  });

  it('Then the fleet-wide audit has the inventory replacement and every rollout action, page by page, each once', async () => {
    const entries = await readAll<Entry>('/v1/audit', 'entries', 2);
    const operatorActions = entries.filter((e) => e.actor !== 'engine').map((e) => `${e.actor}:${e.action}:${e.scope}`);
    expect(operatorActions).toEqual([
      'ada:put-inventory:fleet',
      `olga:create:${rolloutId}`,
      ...Array.from({ length: 3 }, () => [`olga:pause:${rolloutId}`, `olga:resume:${rolloutId}`]).flat(),
    ]);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    const fleetOnly = await app.inject({ method: 'GET', url: '/v1/audit?scope=fleet', headers: as('viewer-token') });
    expect(fleetOnly.json<Page<Entry>>().entries.map((e) => e.action)).toEqual(['put-inventory']);
  });

  it('Then a limit above the stated maximum or a malformed cursor is a 400 naming the parameter', async () => {
    const tooMany = await app.inject({
      method: 'GET',
      url: `/v1/audit?limit=${MAX_PAGE_LIMIT + 1}`,
      headers: as('viewer-token'),
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details).toContainEqual(expect.objectContaining({ path: 'querystring.limit' }));
    const badCursor = await app.inject({ method: 'GET', url: '/v1/audit?cursor=nope', headers: as('viewer-token') });
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().details).toContainEqual(expect.objectContaining({ path: 'querystring.cursor' }));
    expect((await app.inject({ method: 'GET', url: '/v1/audit' })).statusCode).toBe(401);
  });
});

describe('GET /v1/rollouts/:id/transitions', () => {
  it('Then the transitions come page by page with absolute seq numbers, newest page first', async () => {
    const all = await readAll<{ seq: number; trigger: string; actor: string }>(
      `/v1/rollouts/${rolloutId}/transitions`,
      'transitions',
      2,
    );
    expect(all.map((t) => t.seq)).toEqual(all.map((_, i) => i));
    expect(all.filter((t) => t.actor === 'olga').map((t) => t.trigger)).toEqual(
      Array.from({ length: 3 }, () => ['pause', 'resume']).flat(),
    );
    const newest = await app.inject({
      method: 'GET',
      url: `/v1/rollouts/${rolloutId}/transitions?limit=1`,
      headers: as('viewer-token'),
    });
    expect(newest.json()).toMatchObject({ total: all.length, oldestKept: 0, nextCursor: String(all.length - 1) });
    const tooMany = await app.inject({
      method: 'GET',
      url: `/v1/rollouts/${rolloutId}/transitions?limit=${MAX_PAGE_LIMIT + 1}`,
      headers: as('viewer-token'),
    });
    expect(tooMany.statusCode).toBe(400);
    const missing = await app.inject({
      method: 'GET',
      url: '/v1/rollouts/nope/transitions',
      headers: as('viewer-token'),
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('exclusions', () => {
  it('Then an exclusion that names no unit of the rollout is a 422 naming the field; one of its namespaces is accepted', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${rolloutId}/exclude`,
      headers: as('operator-token'),
      payload: {
        units: [
          { cluster: 'prod-1', namespace: 'team-1' },
          { cluster: 'prod-9', namespace: 'team-1' },
        ],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'INVALID_REQUEST',
      details: [{ path: 'units[1]', message: expect.stringContaining('prod-9/team-1 is no unit of rollout') }],
    });
    const ok = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${rolloutId}/exclude`,
      headers: as('operator-token'),
      payload: { units: [{ cluster: 'prod-1', namespace: 'team-1' }] },
    });
    expect(ok.statusCode).toBe(200);
  });
});

describe('audit retention', () => {
  it('When every entry is older than the retention, Then the audit shows none of them', async () => {
    expect((await readAll<Entry>('/v1/audit', 'entries', MAX_PAGE_LIMIT)).length).toBeGreaterThan(0);
    now += 30 * day + 1;
    expect(await readAll<Entry>('/v1/audit', 'entries', MAX_PAGE_LIMIT)).toEqual([]);
    expect(await readAll<Entry>(`/v1/audit?scope=${rolloutId}`, 'entries', MAX_PAGE_LIMIT)).toEqual([]);
  });
});
