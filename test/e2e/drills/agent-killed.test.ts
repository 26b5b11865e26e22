// Drill: a cluster-agent killed (SIGKILL) mid-wave and another started in its place, then every command of its
// cluster published so far delivered twice more (exact copies, signatures intact). Every workload ends on the
// new revision after exactly one restart.
import { clusterKey } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { publishRaw, recordedCommands } from '../../support/fleet-poison.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });

describe('drill: agent killed and commands redelivered', () => {
  it('Given a wave under way, When a cluster-agent is SIGKILLed, another starts, and its commands are delivered twice more, Then every workload ends on the new revision with exactly one restart', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `agent-kill-${f.id}`, soak: '2s' });
    const cluster = f.clusters[0]!;
    const watch = o.clusters[0]!;
    await eventually(`a Deployment of ${cluster.name} moved`, () => watch.movedToNew() >= 1, 90_000);
    const killed = f.agents.get(cluster.name)!;
    await killed.kill('SIGKILL');
    const movedAtKill = watch.movedToNew();
    const replacement = f.startAgent(cluster, `agent-${cluster.name}-b`);
    f.agents.set(cluster.name, replacement);
    const commands = await recordedCommands(f, clusterKey(cluster.name));
    expect(commands.length).toBeGreaterThan(0);
    await publishRaw(f, commands);
    await publishRaw(f, commands);
    await waitForPhase(api, id, ['Completed'], 240_000);
    const verdict = await fleetVerdict(f, o);
    reportDrill('agent-killed', {
      movedAtKill,
      redelivered: commands.length * 2,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expectConvergedExactlyOnce(verdict);
  }, 420_000); // each wait above fails with its own message before this
});
