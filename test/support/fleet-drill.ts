// What every drill file does: a fleet of its own for the file, its observers, a rollout applied through the API,
// and the same end-state verdict (every Deployment restarted exactly once onto NEW, every VM host switched once).
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { applyRollout, drillRolloutYaml, fleetApi, waitForLeader, type DrillRolloutOptions } from './fleet-api.ts';
import { dumpFleetLogs, stopFleetScanningLogs } from './fleet-diagnostics.ts';
import { observeFleet, type FleetObservers } from './fleet-observers.ts';
import { NEW, registerInventory, startFleet, type Fleet, type FleetApi, type FleetOptions } from './fleet-processes.ts';
import type { FleetVerdict } from './fleet-verdict.ts';

export interface DrillFleet {
  fleet(): Fleet;
  observers(): FleetObservers;
}

/** Starts a fleet and its observers before the file's tests and stops them after. */
export function useFleet(options: FleetOptions = {}): DrillFleet {
  let fleet: Fleet | undefined;
  let observers: FleetObservers | undefined;
  beforeAll(async () => {
    fleet = await startFleet(options);
    observers = await observeFleet(fleet);
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(({ task }) => dumpFleetLogs(fleet, `${task.name} failed`));
  });
  afterAll(async () => {
    await observers?.stop();
    await stopFleetScanningLogs(fleet);
  });
  return {
    fleet: () => fleet ?? expect.fail('the fleet did not start'),
    observers: () => observers ?? expect.fail('the observers did not start'),
  };
}

export interface DrillRollout {
  readonly api: FleetApi;
  readonly id: string;
  readonly started: number;
}

/** Waits for a leader and the inventory, then applies a rollout of the fleet's own workloads and VM group. */
export async function startDrillRollout(fleet: Fleet, options: DrillRolloutOptions): Promise<DrillRollout> {
  const started = Date.now();
  const api = fleetApi(fleet);
  await waitForLeader(fleet);
  await registerInventory(fleet, api);
  const id = await applyRollout(api, drillRolloutYaml(fleet, options));
  return { api, id, started };
}

/** Every Deployment on NEW after exactly one restart, every VM host on NEW after exactly one switch. */
export function expectConvergedExactlyOnce(verdict: FleetVerdict): void {
  expect(verdict.notOnNew, 'Deployments with a pod not on the new revision').toEqual([]);
  const not = (m: Record<string, number>) => Object.entries(m).filter(([, n]) => n !== 1);
  expect(not(verdict.restarts), 'Deployments not restarted exactly once (ReplicaSets)').toEqual([]);
  expect(not(verdict.templateChanges), 'Deployments not restarted exactly once (watch)').toEqual([]);
  const hosts = Object.entries(verdict.vmHosts).filter(([, h]) => h.running !== NEW || h.switches !== 1);
  expect(hosts, 'VM hosts not switched exactly once onto the new revision').toEqual([]);
}
