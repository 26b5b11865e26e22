import { createManualClock } from '@meshwave/reconcile';
import { describe, expect, it } from 'vitest';
import type { IstioInstallation } from '../ports/kubernetes-port.js';
import { createControlPlaneGate } from './control-plane-gate.js';

const READY: IstioInstallation = {
  controlPlanes: [{ revision: '1-25-2', version: '1.25.2', ready: true }],
  tags: {},
  injectors: ['1-25-2'],
};

function newGate(answers: (IstioInstallation | Error | undefined)[]) {
  const clock = createManualClock();
  let reads = 0;
  const gate = createControlPlaneGate({
    clock,
    okForMs: 60_000,
    read: async () => {
      const answer = answers[Math.min(reads++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { gate, clock, reads: () => reads };
}

describe('the control-plane gate', () => {
  it('blocks while istiod is missing, reading again at each ask, and lets through once it is ready', async () => {
    const { gate, reads } = newGate([{ ...READY, controlPlanes: [] }, READY]);
    expect(await gate.blocker('1-25-2')).toBe('no istiod of revision 1-25-2 in istio-system');
    expect(await gate.blocker('1-25-2')).toBeUndefined();
    expect(reads()).toBe(2);
  });

  it('trusts a ready revision for a while, until istio-system changes', async () => {
    const { gate, clock, reads } = newGate([READY, { ...READY, injectors: [] }]);
    expect(await gate.blocker('1-25-2')).toBeUndefined();
    await clock.advance(30_000);
    expect(await gate.blocker('1-25-2')).toBeUndefined();
    expect(reads()).toBe(1);
    gate.forget();
    expect(await gate.blocker('1-25-2')).toBe('the injection webhook of revision 1-25-2 is not registered');
  });

  it('blocks when the installation cannot be read, and lets a cluster that cannot say through', async () => {
    expect(await newGate([new Error('forbidden')]).gate.blocker('1-25-2')).toBe(
      'the control planes could not be read: forbidden',
    );
    expect(await newGate([undefined]).gate.blocker('1-25-2')).toBeUndefined();
  });

  it('checks a target that is a revision tag on the revision the tag points to now (ADR 0046)', async () => {
    const tagged: IstioInstallation = { ...READY, tags: { 'prod-stable': '1-25-2' } };
    expect(await newGate([tagged]).gate.blocker('prod-stable')).toBeUndefined();
    expect(await newGate([{ ...tagged, injectors: [] }]).gate.blocker('prod-stable')).toBe(
      'revision tag prod-stable points at 1-25-2: the injection webhook of revision 1-25-2 is not registered',
    );
    expect(await newGate([READY]).gate.blocker('prod-stable')).toBe(
      'no istiod of revision prod-stable in istio-system',
    );
  });
});
