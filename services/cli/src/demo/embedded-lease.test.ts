import { afterEach, describe, expect, it } from 'vitest';
import { DemoFleetConfig } from './fleet-config.js';
import { startEmbeddedFleet, type EmbeddedFleet } from './embedded-fleet.js';

const fleets: EmbeddedFleet[] = [];
afterEach(async () => {
  for (const f of fleets.splice(0)) await f.close();
});

/** Keeps the event loop busy for `ms`, as one long synchronous step of a large fleet in one process does. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer, no socket, no renewal runs meanwhile
  }
}

describe('the embedded planner and a stalled loop (issue 15)', () => {
  it('Given the embedded fleet, When its loop stalls for 6 s, Then its planner keeps the lease it held (no new epoch, no work redone)', async () => {
    const fleet = await startEmbeddedFleet({
      port: 0,
      fleet: DemoFleetConfig.parse({
        installed: '1-24-5',
        revisions: ['1-24-5', '1-25-2'],
        clusters: [
          { name: 'staging-01', labels: { env: 'staging' }, namespaces: ['team-01'], workloadsPerNamespace: 2 },
        ],
        vmGroups: [],
      }),
    });
    fleets.push(fleet);
    const epoch = fleet.planner.epoch();
    expect(epoch).toBeGreaterThan(0);
    // When: one step holds the loop longer than a few seconds (planning 100,000 units, a status of all of them)
    blockLoop(6_000);
    // Then: the renewal that runs late still finds its own lease (a lapse would take a new one, with a new epoch)
    await new Promise((r) => setTimeout(r, 2_500));
    expect(fleet.planner.isLeader()).toBe(true);
    expect(fleet.planner.epoch()).toBe(epoch);
  }, 20_000);
});
