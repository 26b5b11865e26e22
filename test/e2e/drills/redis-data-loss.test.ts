// Drill: Redis loses the fleet's data in the middle of a rollout (every key of the fleet's prefix deleted, as a
// flush or a failover to an empty replica would). The planner must not act on the lost state: it halts and says
// why, starts no wave, restarts nothing again and declares nothing (the agents may finish the restarts of the wave
// they were given before the loss: ADR 0025); the recovery documented there (restart the planners, PUT the
// inventory again, re-apply the rollout) then completes with one restart per Deployment, and the vm-agents enroll
// again by themselves (ADR 0040).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { restartMarks } from '../../integration/cluster-agent/fixtures.ts';
import { eventually } from '../../support/eventually.ts';
import { applyRollout, drillRolloutYaml, waitForLeader, waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { API_TOKEN, NEW, plannerUrl, registerInventory, settle, type Fleet } from '../../support/fleet-processes.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });

/**
 * Deletes every key of the fleet (its Redis key prefix) in one DEL, atomic as a flush is: deleting batch by batch
 * while the services write tears scopes apart (a scope's versions kept without its documents), a partial loss the
 * store's own integration test covers. Returns how many keys were deleted.
 */
async function loseFleetData(fleet: Fleet): Promise<number> {
  const redis = new Redis(fleet.env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    const all: string[] = [];
    for await (const keys of redis.scanStream({ match: `${fleet.keyPrefix}:*`, count: 500 }) as AsyncIterable<string[]>)
      all.push(...keys);
    return all.length === 0 ? 0 : await redis.del(...new Set(all));
  } finally {
    redis.disconnect();
  }
}

/** Deployments outside `namespaces` that the agents restarted for NEW, read from the apiservers. */
async function movedOutside(fleet: Fleet, namespaces: readonly string[]): Promise<string[]> {
  const moved: string[] = [];
  for (const c of fleet.clusters)
    for (const key of c.deployments) {
      const [namespace, name] = key.split('/') as [string, string];
      if (namespaces.includes(namespace)) continue;
      if ((await restartMarks(c.admin, namespace, name)).restartedFor === NEW) moved.push(`${c.name}/${key}`);
    }
  return moved;
}

describe('drill: Redis data loss', () => {
  it('Given a rollout under way, When Redis loses the fleet data, Then every planner answers STORE_DATA_LOST and moves nothing again, and after the documented recovery the rollout completes with one restart per Deployment', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const name = `loss-${f.id}`;
    // wave 0: the first namespace of every cluster (6 Deployments), the one under way when the data is lost
    const firstWave = f.clusters.map((c) => c.namespaces[0]!);
    const rollout = { name, soak: '2s', waves: [{ percent: 100, namespaces: firstWave }, 100] };
    const { api, id, started } = await startDrillRollout(f, rollout);
    await eventually('4 Deployments moved', () => o.movedToNew() >= 4, 180_000);
    const movedAtLoss = o.movedToNew();
    const keys = await loseFleetData(f);
    const lostAt = Date.now();
    // every replica halts and says why, on the API an operator reads
    const answers = await eventually(
      'every planner answers that the store lost its data',
      async () => {
        const all = await Promise.all(
          f.planners.map(async (p) => {
            const r = await fetch(`${plannerUrl(p)}/v1/rollouts/${id}`, {
              headers: { authorization: `Bearer ${API_TOKEN}` },
              signal: AbortSignal.timeout(3000),
            });
            return { status: r.status, body: (await r.json()) as { message?: string } };
          }),
        );
        return all.every((a) => a.status === 503 && /lost its data/.test(a.body.message ?? '')) ? all : undefined;
      },
      60_000,
    );
    const haltedMs = Date.now() - lostAt;
    // the planner never acts on the lost state: no Deployment moves after the loss, for as long as a re-send or
    // a resync would take to show one
    await settle();
    const movedBeforeRecovery = o.movedToNew();
    const laterWaveMoved = await movedOutside(f, firstWave);

    // recovery (ADR 0025): restart the planners, the base inventory again, re-apply the rollout
    for (const p of f.planners) {
      await p.kill('SIGTERM');
      p.restart();
    }
    await waitForLeader(f, undefined, 90_000);
    await registerInventory(f, api);
    const readopted = await applyRollout(api, drillRolloutYaml(f, rollout));
    await waitForPhase(api, readopted, ['Completed'], 300_000);
    const verdict = await fleetVerdict(f, o);
    reportDrill('redis-data-loss', {
      keysLost: keys,
      movedAtLoss,
      movedBeforeRecovery,
      haltedAfterMs: haltedMs,
      answer: answers[0]?.body.message,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expect(keys).toBeGreaterThan(0);
    expect(laterWaveMoved, 'Deployments of a wave not started before the loss moved before the recovery').toEqual([]);
    expectConvergedExactlyOnce(verdict);
  });
});
