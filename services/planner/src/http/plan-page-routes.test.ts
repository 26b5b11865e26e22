import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MAX_PLAN_PAGE_LIMIT, type CreatedRollout, type PlanSkippedPage, type PlanWavePage } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { TEST_SIGNING, as, testTokens } from './api-test-harness.js';

let planner: Planner;
let app: FastifyInstance;
let created: CreatedRollout;

const get = (url: string) => app.inject({ method: 'GET', url, headers: as('viewer-token') });

/** Follows `nextCursor` from the first page to the last. */
async function allPages<P extends { nextCursor?: string }>(url: string, limit: number): Promise<P[]> {
  const pages: P[] = [];
  let cursor: string | undefined;
  do {
    const res = await get(`${url}?limit=${limit}${cursor === undefined ? '' : `&cursor=${cursor}`}`);
    expect(res.statusCode).toBe(200);
    const page = res.json<P>();
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

beforeAll(async () => {
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing: TEST_SIGNING }),
    store: createInMemoryStore(),
    config: { instanceId: 'plan-pages-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  app = await buildApp({ planner, tokens: testTokens, limits: { bodyLimitBytes: 64 * 1024 } });
  const clusters = ['prod-1', 'prod-2'].map((name) => ({
    name,
    labels: { env: 'prod' },
    workloads: newFleetWorkloads(9),
  }));
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/inventory',
    headers: as('admin-token'),
    payload: { clusters, vmGroups: [] },
  });
  expect(put.statusCode).toBe(204);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/rollouts',
    headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
    payload: newRolloutYaml({ name: 'plan-pages' }),
  });
  expect(res.statusCode).toBe(201);
  created = res.json<CreatedRollout>();
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

describe('a started rollout answers with its plan summary and serves its units in pages (ADR 0039)', () => {
  it('creating a rollout answers with the waves and their counts, not with every unit', async () => {
    const plan = await planner.rolloutPlan(created.id);
    expect(created.plan.waves).toHaveLength(plan.waves.length);
    created.plan.waves.forEach((w, i) => {
      expect(w).not.toHaveProperty('units');
      expect(w).not.toHaveProperty('workloads');
      expect(w.counts).toEqual({
        workloads: plan.waves[i]!.workloads.length,
        units: plan.waves[i]!.units.length,
        vmHosts: 0,
      });
    });
    expect(created.plan.waves.reduce((n, w) => n + w.counts.units, 0)).toBe(18);
    expect(created.plan.counts).toEqual({ skipped: plan.skipped.length, risks: plan.risks.length });
    const summary = await get(`/v1/rollouts/${created.id}/plan`);
    expect(summary.statusCode).toBe(200);
    expect(summary.json()).toEqual(created.plan);
  });

  it("a wave's pages, followed to the last, give its workloads, units and hosts in the plan's order", async () => {
    const plan = await planner.rolloutPlan(created.id);
    for (const [w, wave] of plan.waves.entries()) {
      const pages = await allPages<PlanWavePage>(`/v1/rollouts/${created.id}/plan/waves/${w}`, 2);
      expect(pages.every((p) => p.wave === w && p.units.length <= 2 && p.workloads.length <= 2)).toBe(true);
      expect(pages.flatMap((p) => p.units)).toEqual(wave.units);
      expect(pages.flatMap((p) => p.workloads)).toEqual(wave.workloads);
      expect(pages.flatMap((p) => p.vmHosts)).toEqual(wave.vmHosts);
    }
    const widest = plan.waves.reduce((most, w) => Math.max(most, w.units.length), 0);
    expect(widest).toBeGreaterThan(2);
    const skipped = await allPages<PlanSkippedPage>(`/v1/rollouts/${created.id}/plan/skipped`, 1);
    expect(skipped.flatMap((p) => p.skipped)).toEqual(plan.skipped);
    expect(skipped.flatMap((p) => p.risks)).toEqual(plan.risks);
  });

  it('refuses a page larger than the stated limit (400 with the field), and a wave or rollout it does not have (404)', async () => {
    const tooLarge = await get(`/v1/rollouts/${created.id}/plan/waves/0?limit=${MAX_PLAN_PAGE_LIMIT + 1}`);
    expect(tooLarge.statusCode).toBe(400);
    expect(JSON.stringify(tooLarge.json())).toContain('limit');
    expect((await get(`/v1/rollouts/${created.id}/plan/waves/0?cursor=x`)).statusCode).toBe(400);
    const noWave = await get(`/v1/rollouts/${created.id}/plan/waves/${created.plan.waves.length}`);
    expect(noWave.statusCode).toBe(404);
    expect(noWave.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await get('/v1/rollouts/nope/plan')).statusCode).toBe(404);
  });
});
