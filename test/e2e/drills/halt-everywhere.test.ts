// Drill: a workload that crash-loops on the new revision in one cluster halts the rollout on every cluster and
// on the VM bridge. Decided by the agents' own records of the halt, the restart marks on the apiservers and the
// vm-agents' own logs.
import fs from 'node:fs';
import { MessageType } from '@meshwave/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartMarks } from '../../integration/cluster-agent/fixtures.ts';
import { eventually } from '../../support/eventually.ts';
import {
  applyRollout,
  drillRolloutYaml,
  fleetApi,
  rolloutStatus,
  waitForLeader,
  waitForPhase,
} from '../../support/fleet-api.ts';
import { stopFleetScanningLogs } from '../../support/fleet-diagnostics.ts';
import { CRASH_LABEL, withCrashOnNew } from '../../support/fleet-faults.ts';
import { acceptedCommands, observeFleet, type FleetObservers } from '../../support/fleet-observers.ts';
import { NEW, registerInventory, settle, startFleet, type Fleet } from '../../support/fleet-processes.ts';
import { reportDrill } from '../../support/fleet-verdict.ts';
import type { ServiceProcess } from '../../support/service-process.ts';

let fleet: Fleet | undefined;
let observers: FleetObservers | undefined;
beforeAll(async () => {
  fleet = await startFleet({
    namespacesPerCluster: 3,
    deploymentsPerNamespace: 2,
    // the first Deployment of cluster 1 crash-loops once it runs NEW
    templateLabels: (c, n, d): Record<string, string> =>
      c === 1 && n === 0 && d === 0 ? { [CRASH_LABEL]: 'yes' } : {},
  });
  observers = await observeFleet(fleet);
});
afterAll(async () => {
  await observers?.stop();
  await stopFleetScanningLogs(fleet);
});

/** When each process first accepted a halt (its own clock), once all of them have. */
function haltsAccepted(processes: readonly ServiceProcess[]): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const p of processes) {
    const halt = acceptedCommands(p).find((c) => c.type === MessageType.Halt);
    if (!halt) return undefined;
    out[p.name] = halt.at;
  }
  return out;
}

describe('drill: halt everywhere', () => {
  it('Given a Deployment that crash-loops on the new revision in one cluster, When the rollout moves it, Then the rollout halts, every cluster agent and the bridge apply the halt, and none starts a restart or a VM upgrade after it', async () => {
    const f = fleet!;
    const started = Date.now();
    const api = fleetApi(f);
    await waitForLeader(f);
    await registerInventory(f, api);
    await withCrashOnNew(f.clusters[0]!, async () => {
      // wave 0: the first namespace of every cluster (the crashing Deployment's among them) and the VM group;
      // wave 1: everything else, which a halted rollout must never start
      const firstWave = f.clusters.map((c) => c.namespaces[0]!);
      const yaml = drillRolloutYaml(f, {
        name: `halt-${f.id}`,
        waves: [{ percent: 100, namespaces: firstWave }, 100],
        vmWave: 0,
        vmMaxUnavailable: 1,
      });
      const id = await applyRollout(api, yaml);
      const halted = await waitForPhase(api, id, ['Halted'], 180_000);
      const processes = [...f.agents.values(), f.bridge];
      const halts = await eventually(
        'every cluster agent and the bridge applied the halt',
        () => haltsAccepted(processes),
        60_000,
      );
      // "nothing starts after the halt" holds only if it still holds later: a command re-sent, a report resync or
      // a long poll answered late would start something after the halt landed
      await settle();

      // restarts written by an agent after it applied the halt
      const late: string[] = [];
      const laterWave: string[] = [];
      let movedBeforeHalt = 0;
      for (const c of f.clusters) {
        const haltAt = halts[f.agents.get(c.name)!.name]!;
        for (const key of c.deployments) {
          const [namespace, name] = key.split('/') as [string, string];
          const marks = await restartMarks(c.admin, namespace, name);
          if (marks.restartedFor !== NEW || marks.restartedAt === undefined) continue;
          if (!firstWave.includes(namespace)) laterWave.push(key);
          if (Date.parse(marks.restartedAt) > haltAt) late.push(`${key} restarted at ${marks.restartedAt}`);
          else movedBeforeHalt++;
        }
      }
      // VM upgrades the bridge handed out after it applied the halt (a long poll already answered may land
      // up to one report interval later)
      const bridgeHaltAt = halts[f.bridge.name]!;
      const vmUpgrades = fs
        .readFileSync(`${f.dir}/vm-agents.log`, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"msg":"upgrading"'))
        .map((l) => JSON.parse(l) as { host: string; time: string });
      const lateVm = vmUpgrades.filter((u) => Date.parse(u.time) > bridgeHaltAt + 1000).map((u) => u.host);
      const status = await rolloutStatus(api, id);
      reportDrill('halt-everywhere', {
        haltReason: halted.transitions.at(-1)?.reason,
        haltAppliedMs: Object.fromEntries(
          Object.entries(halts).map(([k, v]) => [k, v - Math.min(...Object.values(halts))]),
        ),
        movedBeforeHalt,
        vmUpgradesBeforeHalt: vmUpgrades.length - lateVm.length,
        dlq: observers!.bus.deadLettersByReason(),
        wallMs: Date.now() - started,
      });
      expect(status.phase).toBe('Halted');
      expect(late, 'restarts after the agent applied the halt').toEqual([]);
      expect(laterWave, 'Deployments of the wave after the halt restarted').toEqual([]);
      expect(lateVm, 'VM upgrades started after the bridge applied the halt').toEqual([]);
    });
  });
});
