import { AgentPhase, type HaltCommand } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore, type TransitionRequest } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { GroupLanes } from './group-lanes.js';
import { hashToken } from './host-token.js';
import { VmBridge } from './vm-bridge.js';

// A halt must not queue behind a busy group's routine writes (issue 16: halt latency).

const ENROLL = 'enroll-secret-for-tests';

/** The in-memory store, whose writes wait while `hold` is set; each write's request is recorded as it is made. */
function newGatedStore(): { store: StateStore; writes: TransitionRequest[]; hold(): void; release(): void } {
  const inner = createInMemoryStore();
  const writes: TransitionRequest[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const transition: StateStore['transition'] = async (request) => {
    writes.push(request);
    await gate;
    return inner.transition(request);
  };
  const store = new Proxy(inner, {
    get: (target, key) =>
      key === 'transition' ? transition : (Reflect.get(target, key) as (...a: unknown[]) => unknown).bind(target),
  });
  return {
    store,
    writes,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
}

const halt: HaltCommand = {
  rolloutId: 'r1',
  wave: 0,
  generation: 1,
  epoch: 1,
  target: 'vmgroup/web',
  reason: 'crash loop',
};

/** whether a write stores the group halted */
const haltsGroup = (w: TransitionRequest): boolean =>
  w.writes.some((d) => (d.value as { halted?: boolean } | null)?.halted === true);

let bridge: VmBridge | undefined;
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
});

describe('vm-bridge: a halt goes before routine writes', () => {
  it('Given a group whose store write is under way and a host-report flush waiting behind it, When a halt arrives, Then the halt is the next write of the group and the reports are still written', async () => {
    const gated = newGatedStore();
    bridge = new VmBridge({
      store: gated.store,
      catalog: staticBundleCatalog({}),
      groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
      settings: { tickMs: 3_600_000, leaseTtlMs: 7_200_000, reportFlushMs: 0 },
    });
    await bridge.start();
    for (const h of ['h0', 'h1', 'h2'])
      await bridge.registerHost('web', `Bearer ${ENROLL}`, {
        host: h,
        tokenSha256: hashToken(h),
        runningVersion: 'v1',
      });
    const report = { runningVersion: 'v1', healthy: false, phase: AgentPhase.Checking };
    gated.hold();
    const before = gated.writes.length;
    const first = bridge.report('h0', report);
    await expect.poll(() => gated.writes.length).toBe(before + 1);
    // a second flush waits behind the first (the report of h2 joins it)
    const queued = [bridge.report('h1', report), bridge.report('h2', report)];
    await new Promise((r) => setImmediate(r)); // the flush has taken its place behind the first
    const halted = bridge.applyHalt(halt);

    gated.release();

    expect(await halted).toEqual({ result: 'applied' });
    await Promise.all([first, ...queued]);
    const after = gated.writes.slice(before);
    expect(after.map(haltsGroup)).toEqual([false, true, false]);
    expect(after[2]?.writes.map((d) => d.name).sort()).toEqual(['host/h1', 'host/h2']);
    const { hosts, group } = await bridge.snapshot('web');
    expect(group.halted).toBe(true);
    expect(hosts.map((h) => h.report?.healthy)).toEqual([false, false, false]);
  });
});

describe('GroupLanes', () => {
  it('Given routine and urgent writes waiting, When they run, Then one at a time, urgent ones first in their order, a failure not stopping the lane', async () => {
    const lanes = new GroupLanes();
    const ran: string[] = [];
    let running = 0;
    let most = 0;
    const write =
      (name: string, fail = false) =>
      async (): Promise<string> => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 1));
        ran.push(name);
        running--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      lanes.run('g', write('a')),
      lanes.run('g', write('b', true)),
      lanes.run('g', write('c')),
      lanes.run('g', write('u1'), true),
      lanes.run('g', write('u2'), true),
      lanes.run('other', write('x')),
    ]);
    await lanes.settle();
    expect(ran.filter((n) => n !== 'x')).toEqual(['a', 'u1', 'u2', 'b', 'c']);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(most).toBe(2); // one per group: g and other
  });
});
