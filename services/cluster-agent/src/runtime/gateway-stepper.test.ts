import { describe, expect, it } from 'vitest';
import type { ClusterDesiredState } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { silentLogger } from '@meshwave/telemetry';
import { newDeploymentView, newDesiredState } from '../core/command-fixtures.js';
import type { CommandLedger } from '../core/command-ledger.js';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { WorkloadView } from '../ports/kubernetes-port.js';
import type { GatewayCanaryPort } from './gateway-canary.js';
import { createGatewayStepper } from './gateway-stepper.js';

const gateway: WorkloadView = newDeploymentView({ namespace: 'gw', labels: { istio: 'ingressgateway' } });

/** A cluster whose gateway's copy is created but never gets a ready pod; counts the writes. */
function newStuckPort(createError?: Error): GatewayCanaryPort & { writes: string[] } {
  const writes: string[] = [];
  let copy: WorkloadView | undefined;
  return {
    writes,
    getWorkload: (ref) => Promise.resolve(ref.name === 'ingress' ? gateway : copy),
    listPods: () => Promise.resolve([]),
    readDeployment: () => Promise.resolve({ metadata: { name: 'ingress', namespace: 'gw' }, spec: { replicas: 2 } }),
    createDeployment: (_ns, body) => {
      writes.push(`create ${body.metadata?.name}`);
      if (createError) return Promise.reject(createError);
      copy = { ...gateway, name: body.metadata!.name!, labels: body.metadata!.labels!, availableReplicas: 0 };
      return Promise.resolve('created');
    },
    scaleDeployment: (_ns, name, replicas) => Promise.resolve(void writes.push(`scale ${name} ${replicas}`)),
    deleteDeployment: (_ns, name) => Promise.resolve((writes.push(`delete ${name}`), 'deleted')),
    readGateway: () => Promise.resolve(undefined),
    setGatewayRevision: (_ns, name, revision) => Promise.resolve(void writes.push(`relabel ${name} ${revision}`)),
  };
}

function newLedger(desired: Partial<ClusterDesiredState> = {}): CommandLedger {
  const d = newDesiredState({
    granularity: 'workload',
    units: [],
    progressDeadlineSeconds: 30,
    gateways: [{ namespace: 'gw', name: 'ingress', revision: '1-25-2', percent: 50, removeOld: false }],
    ...desired,
  });
  return { epoch: 1, seq: 1, rollouts: { r1: { desired: d, seq: 1 } } };
}

function newStepper(port: GatewayCanaryPort | undefined) {
  const clock = createManualClock();
  const reported: string[] = [];
  const stepper = createGatewayStepper({
    port,
    clock,
    log: silentLogger(),
    intervalMs: 500,
    progressDeadlineSeconds: 600,
    onProgress: (id) => reported.push(id),
  });
  return { clock, stepper, reported };
}

describe('the agent’s gateway steps (ADR 0047)', () => {
  it('Given a copy that never gets ready, Then the step waits, saying for what, and fails at its progress deadline', async () => {
    const port = newStuckPort();
    const { clock, stepper, reported } = newStepper(port);
    stepper.sync(newLedger());
    await clock.advance(1_000);
    expect(stepper.progressOf('r1')).toEqual([
      { namespace: 'gw', name: 'ingress', percent: 50, state: 'restarting', reason: 'copy 0/1 ready on 1-25-2' },
    ]);
    await clock.advance(31_000);
    expect(stepper.progressOf('r1')?.[0]).toMatchObject({ state: 'failed' });
    expect(stepper.progressOf('r1')?.[0]?.reason).toMatch(/^not converged in 30s: copy 0\/1 ready/);
    expect(port.writes).toEqual(['create ingress-1-25-2']);
    expect(reported.length).toBeGreaterThan(0);
    stepper.stop();
  });

  it('Given a halted rollout, Then its gateway step writes nothing', async () => {
    const port = newStuckPort();
    const { clock, stepper } = newStepper(port);
    stepper.sync(newLedger({ halted: true }));
    await clock.advance(5_000);
    expect(port.writes).toEqual([]);
    expect(stepper.progressOf('r1')?.[0]?.state).toBe('pending');
    stepper.stop();
  });

  it('Given an agent without the gateway writes, or refused them by RBAC, Then the step fails saying why', async () => {
    const none = newStepper(undefined);
    none.stepper.sync(newLedger());
    await none.clock.advance(1_000);
    expect(none.stepper.progressOf('r1')?.[0]).toMatchObject({
      state: 'failed',
      reason: 'this agent is not allowed to move gateways (gatewayCanary)',
    });
    none.stepper.stop();

    const forbidden = new ClusterAgentError(ClusterAgentErrorCode.Forbidden, 'deployments.apps is forbidden');
    const refused = newStepper(newStuckPort(forbidden));
    refused.stepper.sync(newLedger());
    await refused.clock.advance(1_000);
    expect(refused.stepper.progressOf('r1')?.[0]).toMatchObject({
      state: 'failed',
      reason: 'deployments.apps is forbidden',
    });
    refused.stepper.stop();
  });

  it('Given a desired state that no longer names the step, Then it is dropped from the progress', async () => {
    const { clock, stepper } = newStepper(newStuckPort());
    stepper.sync(newLedger());
    await clock.advance(1_000);
    stepper.sync(newLedger({ gateways: [] }));
    expect(stepper.progressOf('r1')).toBeUndefined();
    stepper.stop();
  });
});
