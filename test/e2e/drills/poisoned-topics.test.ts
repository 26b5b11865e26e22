// Drill: malformed, unsigned, forged, unknown-key, expired and replayed records written straight to the
// commands and events topics in the middle of a rollout. Each reaches the dead-letter topic with its reason,
// the consumers keep going, and the rollout is unaffected.
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { newPoison, publishRaw } from '../../support/fleet-poison.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 2, deploymentsPerNamespace: 2 });

describe('drill: poisoned topics', () => {
  it('Given a rollout under way, When poisoned records are written to the commands and events topics, Then each is dead-lettered with its reason and the rollout completes with one restart per Deployment', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `poison-${f.id}`, soak: '2s' });
    await eventually('2 Deployments moved', () => o.movedToNew() >= 2, 180_000);
    const poison = newPoison(f);
    await publishRaw(f, poison);
    const outcome = await eventually(
      'every poisoned record on the DLQ',
      () => {
        const byId = new Map(o.bus.deadLetters.filter((d) => !d.groupId.startsWith('observer-')).map((d) => [d.id, d]));
        const seen = poison.map((p) => ({
          what: p.what,
          topic: p.topic,
          expected: p.reason,
          got: byId.get(p.record.headers['ce_id'])?.reason,
        }));
        return seen.every((s) => s.got !== undefined) ? seen : undefined;
      },
      120_000,
    );
    await waitForPhase(api, id, ['Completed'], 300_000);
    const verdict = await fleetVerdict(f, o);
    reportDrill('poisoned-topics', {
      injected: poison.length,
      dlq: o.bus.deadLettersByReason(),
      refusals: o.bus.refusalsByReason(),
      restarts: restartHistogram(verdict.restarts),
      wallMs: Date.now() - started,
    });
    expect(outcome.filter((s) => s.got !== s.expected)).toEqual([]);
    expectConvergedExactlyOnce(verdict);
  });
});
