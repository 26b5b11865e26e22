import type { VmGroupDesiredState } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { isVmBridgeError, VmBridgeErrorCode } from '../errors.js';
import { hashToken } from './host-token.js';
import { VmBridge } from './vm-bridge.js';

const ENROLL = 'enroll-secret-for-tests';
const HOSTS = ['a', 'b'];

/** One in-memory store that loses its data as a Redis FLUSHALL does: `lose()` swaps in an empty one, same era clock. */
function newLosableStore(): { store: StateStore; lose: () => void } {
  const eraClock = (): number => Date.now();
  let inner = createInMemoryStore({ eraClock });
  const store = new Proxy(inner, {
    get: (_target, key) => (Reflect.get(inner, key) as (...a: unknown[]) => unknown).bind(inner),
  });
  return { store, lose: () => (inner = createInMemoryStore({ eraClock })) };
}

function command(generation: number, epoch: number): VmGroupDesiredState {
  return {
    rolloutId: 'r1',
    wave: 0,
    generation,
    epoch,
    group: 'web',
    from: 'v1',
    to: 'v2',
    maxUnavailable: 1,
    halted: false,
    hosts: HOSTS.map((name) => ({ name, version: 'v2' })),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + 4_000;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const enroll = (bridge: VmBridge, host: string) =>
  bridge.registerHost('web', `Bearer ${ENROLL}`, {
    host,
    tokenSha256: hashToken(`token-${host}`),
    runningVersion: 'v1',
  });
const report = (bridge: VmBridge, host: string) =>
  bridge.report(host, { runningVersion: 'v1', healthy: true, phase: 'idle' });

let bridge: VmBridge | undefined;
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
});

describe('vm-bridge: the store loses its data (ADR 0025)', () => {
  it('Given enrolled hosts, When the store loses its data, Then the bridge forgets them and refuses their reports, and once they enroll again the new leader’s command starts a batch', async () => {
    const world = newLosableStore();
    bridge = new VmBridge({
      store: world.store,
      catalog: staticBundleCatalog({
        v1: { url: 'file:///b/v1', sha256: 'a'.repeat(64), configDigest: 'c1' },
        v2: { url: 'file:///b/v2', sha256: 'b'.repeat(64), configDigest: 'c2' },
      }),
      groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
      settings: { tickMs: 20, leaseTtlMs: 500, reportFlushMs: 0 },
    });
    await bridge.start();
    const b = bridge;
    for (const host of HOSTS) await enroll(b, host);
    for (const host of HOSTS) await report(b, host);

    world.lose();

    // the bridge takes its lease again at a higher epoch and reads its group again: the hosts are gone from it
    const refused = await until('a report refused', () =>
      report(b, 'a').then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(
      isVmBridgeError(refused, VmBridgeErrorCode.UnknownHost) ||
        isVmBridgeError(refused, VmBridgeErrorCode.Unauthenticated),
    ).toBe(true);
    expect(() => b.desiredOf('b')).toThrow();

    // recovery: the hosts enroll again (as a refused agent does) and the re-adopted rollout sends its command
    for (const host of HOSTS) await enroll(b, host);
    for (const host of HOSTS) await report(b, host);
    expect(await b.applyCommand(command(1, Number.MAX_SAFE_INTEGER))).toEqual({ result: 'applied' });

    const started = await until('a batch started', async () => {
      const s = await b.snapshot('web');
      return s.hosts.filter((h) => h.desiredVersion === 'v2').length === 1 ? s : undefined;
    });
    expect(started.hosts.map((h) => h.name).sort()).toEqual(HOSTS);
  });
});
