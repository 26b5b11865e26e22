import { createInMemoryBroker, createInMemoryBus, type EventBus, type Subscription } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { VmBridge } from '../runtime/vm-bridge.js';
import { buildApp } from './app.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** The bus the bridge runs on, whose commands subscription joins its consumer group only when `join()` is called. */
function busJoiningOnCue(): { bus: EventBus; join: () => void } {
  const inner = createInMemoryBus({ broker: createInMemoryBroker(), source: 'vm-bridge', signing: SIGNING });
  let join!: () => void;
  const joined = new Promise<void>((resolve) => (join = resolve));
  const bus: EventBus = Object.assign(Object.create(inner) as EventBus, {
    subscribe: async (options: Parameters<EventBus['subscribe']>[0]): Promise<Subscription> => {
      await joined;
      return inner.subscribe(options);
    },
  });
  closing.push(() => inner.close());
  return { bus, join };
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 4_000;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('vm-bridge /healthz (its readiness)', () => {
  it('Given a bridge that holds the lease but has not joined its commands consumer group, When asked, Then it is not ready; once joined it is', async () => {
    const { bus, join } = busJoiningOnCue();
    const bridge = new VmBridge({
      store: createInMemoryStore(),
      bus,
      catalog: staticBundleCatalog({}),
      groups: [{ name: 'web' }],
      settings: { tickMs: 20, leaseTtlMs: 2000 },
    });
    const app = await buildApp({ bridge });
    const starting = bridge.start();
    closing.push(async () => {
      join();
      await starting;
      await bridge.stop();
      await app.close();
    });
    await until('the lease', async () => bridge.active);

    const before = await app.inject({ method: 'GET', url: '/healthz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ status: 'starting' });

    join();
    await starting;
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
