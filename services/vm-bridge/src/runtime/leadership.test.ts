import { systemClock } from '@meshwave/reconcile';
import { createInMemoryStore } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BRIDGE_SETTINGS } from '../config/bridge-settings.js';
import type { BridgeContext } from './bridge-context.js';
import { GroupTicker } from './group-ticker.js';
import { HostIndex } from './host-index.js';
import { createBridgeElection, waitForLease } from './leadership.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('vm-bridge lease', () => {
  it("Given an active bridge whose group reconcile hangs past the lease, When a second bridge tries, Then the first one's lease is still renewed and the second does not take over", async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    const store = createInMemoryStore({ now: () => Date.now() });
    const settings = { ...DEFAULT_BRIDGE_SETTINGS, tickMs: 100, leaseTtlMs: 1_000 };
    const log = silentLogger();
    const ctx = {
      store,
      settings,
      log,
      clock: systemClock,
      groups: new Map([['web', { name: 'web', enrollmentTokenSha256: 'x'.repeat(64) }]]),
      hosts: new HostIndex(),
      election: createBridgeElection(store, settings, 'bridge-a', log),
      lifecycle: { stopped: false, loaded: false },
    } as unknown as BridgeContext;
    expect(await waitForLease(ctx, new AbortController().signal)).toBe(true);
    // a reconcile that never returns
    const ticker = new GroupTicker(
      ctx,
      () => new Promise<void>(() => undefined),
      async () => undefined,
    );
    ticker.start();
    const other = createBridgeElection(store, settings, 'bridge-b', log);

    await vi.advanceTimersByTimeAsync(5 * settings.leaseTtlMs);
    await other.tick();

    expect(other.current).toBeUndefined();
    expect(ctx.election.current?.holder).toBe('bridge-a');
    ticker.stop();
    await ctx.election.stop();
  });
});
