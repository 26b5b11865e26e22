import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DemoFleetConfig } from '../demo/fleet-config.js';
import { DEMO_TOKEN, startEmbeddedFleet, type EmbeddedFleet } from '../demo/embedded-fleet.js';
import { demoRolloutSpec } from '../demo/demo-command.js';
import { PlannerClient } from './planner-client.js';
import { readRolloutPlan } from './rollout-plan-reader.js';

describe('readRolloutPlan against a planner started in the test', () => {
  let fleet: EmbeddedFleet;
  let client: PlannerClient;

  beforeAll(async () => {
    const config = DemoFleetConfig.parse({
      clusters: [
        {
          name: 'staging-eu-1',
          labels: { env: 'staging' },
          namespaces: ['payments', 'catalog'],
          workloadsPerNamespace: 3,
        },
        {
          name: 'prod-us-east-1',
          labels: { env: 'prod' },
          namespaces: ['payments', 'search'],
          workloadsPerNamespace: 3,
        },
      ],
      vmGroups: [{ name: 'edge-proxies', labels: { role: 'edge', env: 'prod' }, hosts: 5 }],
      timing: { podStartMs: 50, vmRestartMs: 50, soakSeconds: 0.5, progressDeadlineSeconds: 30 },
    });
    fleet = await startEmbeddedFleet({ fleet: config, port: 0 });
    client = new PlannerClient(fleet.url, DEMO_TOKEN);
    for (let i = 0; i < 100 && (await fleet.planner.fleet()).clusters.length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
  });

  it("reassembles the rollout's whole plan from its summary and pages of two items", async () => {
    // Given a started rollout whose waves hold more units and hosts than a page
    const example = await readFile(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
    const created = await client.createRollout(stringify(demoRolloutSpec(example, 0.5, new Date())));
    const planned = await fleet.planner.rolloutPlan(created.id);
    expect(planned.waves.some((w) => w.units.length > 2)).toBe(true);
    expect(planned.waves.some((w) => w.vmHosts.length > 2)).toBe(true);

    // When the client reads it in pages of two
    const read = await readRolloutPlan(client, created.id, 2);

    // Then it is the plan the rollout's record holds, field for field
    expect(read).toEqual(planned);
  });
});
