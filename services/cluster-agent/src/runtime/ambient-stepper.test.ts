import { describe, expect, it } from 'vitest';
import { AmbientStepCommand, type ClusterDesiredState } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { silentLogger } from '@meshwave/telemetry';
import { newDesiredState } from '../core/command-fixtures.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { AmbientPort } from '../ports/ambient-port.js';
import { createAmbientStepper } from './ambient-stepper.js';
import { FakeNodeCluster, NEW } from './node-wave-fixtures.js';

const ztunnelWave = AmbientStepCommand.parse({
  step: 'ztunnel-1',
  component: 'ztunnel',
  version: '1.25.2',
  nodes: ['n0', 'n1', 'n2'],
  maxUnavailable: 1,
});

function newLedger(desired: Partial<ClusterDesiredState> = {}): CommandLedger {
  const d = newDesiredState({
    granularity: 'namespace',
    units: [],
    progressDeadlineSeconds: 30,
    ambient: [ztunnelWave],
    ...desired,
  });
  return { epoch: 1, seq: 1, rollouts: { r1: { desired: d, seq: 1 } } };
}

function newStepper(port: AmbientPort | undefined) {
  const clock = createManualClock();
  const stepper = createAmbientStepper({
    port,
    clock,
    log: silentLogger(),
    intervalMs: 500,
    progressDeadlineSeconds: 600,
    onProgress: () => undefined,
  });
  return { clock, stepper };
}

/** Lets the stepper's loop run `passes` passes, the cluster settling after each. */
async function passes(clock: ReturnType<typeof createManualClock>, cluster: FakeNodeCluster, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, 0));
    cluster.settle();
    await clock.advance(500);
  }
}

describe('the agent’s ambient steps (ADR 0051)', () => {
  it('Given a node wave in its desired state, Then the agent moves the nodes one at a time and reports the step converged', async () => {
    const cluster = new FakeNodeCluster(3);
    const { clock, stepper } = newStepper(cluster);
    stepper.sync(newLedger());
    expect(stepper.progressOf('r1')).toEqual([{ step: 'ztunnel-1', state: 'pending', waiting: [] }]);
    await passes(clock, cluster, 20);
    expect(stepper.progressOf('r1')).toEqual([{ step: 'ztunnel-1', state: 'converged', waiting: [] }]);
    expect([...cluster.agentPods.values()].map((p) => p.containers[0]!.image)).toEqual([NEW, NEW, NEW]);
    expect(cluster.maxCordoned).toBe(1);
    stepper.stop();
  });

  it('Given the rollout halted, Then nothing is written; When it resumes, Then the wave goes on', async () => {
    const cluster = new FakeNodeCluster(2);
    const { clock, stepper } = newStepper(cluster);
    stepper.sync(newLedger({ halted: true }));
    await passes(clock, cluster, 5);
    expect(cluster.maxCordoned).toBe(0);
    stepper.sync(newLedger({ ambient: [{ ...ztunnelWave, nodes: ['n0', 'n1'] }] }));
    await passes(clock, cluster, 20);
    expect(stepper.progressOf('r1')?.[0]?.state).toBe('converged');
    stepper.stop();
  });

  it('Given an agent without the ambient writes, Then the step fails saying so', async () => {
    const { stepper } = newStepper(undefined);
    stepper.sync(newLedger());
    await new Promise((r) => setTimeout(r, 0));
    expect(stepper.progressOf('r1')).toEqual([
      {
        step: 'ztunnel-1',
        state: 'failed',
        waiting: [],
        reason: 'this agent is not allowed to move ambient mode (ambient)',
      },
    ]);
    stepper.stop();
  });

  it('Given a node wave that names no version, Then the command is refused by its schema', () => {
    const { version: _, ...noVersion } = ztunnelWave;
    expect(AmbientStepCommand.safeParse(noVersion).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['version', 'a node wave names its version'],
    ]);
  });
});
