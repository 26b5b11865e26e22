import { AgentPhase } from '@meshwave/contracts';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { groupScope } from '../adapters/group-store.js';
import { hashToken } from './host-token.js';
import { VmBridge } from './vm-bridge.js';

// The cost of a report, a registration and a tick must not grow with the group: counted in store documents
// read and written (no timing), for a small and a large group.

const ENROLL = 'enroll-secret-for-tests';
const AUTH = `Bearer ${ENROLL}`;

/** Documents the bridge read from and wrote to the store. */
interface DocCount {
  read: number;
  written: number;
}

/** The in-memory store, counting every document read and written through it. */
function newCountingStore(): { store: StateStore; count: DocCount; inner: StateStore } {
  const inner = createInMemoryStore();
  const count: DocCount = { read: 0, written: 0 };
  const store: StateStore = {
    readScope: async (scope) => {
      const docs = await inner.readScope(scope);
      count.read += docs.size;
      return docs;
    },
    readScopeChanges: async (scope, known) => {
      const changes = await inner.readScopeChanges(scope, known);
      count.read += changes.changed.size;
      return changes;
    },
    readVersion: (scope, name) => inner.readVersion(scope, name),
    read: async (scope, name) => {
      count.read += 1;
      return inner.read(scope, name);
    },
    transition: async (request) => {
      count.written += request.writes.length;
      return inner.transition(request);
    },
    listScopes: (kind) => inner.listScopes(kind),
    acquireLease: (name, holder, ttlMs) => inner.acquireLease(name, holder, ttlMs),
    renewLease: (lease, ttlMs) => inner.renewLease(lease, ttlMs),
    releaseLease: (lease) => inner.releaseLease(lease),
    leaseHolder: (name) => inner.leaseHolder(name),
    appendAudit: (entry) => inner.appendAudit(entry),
    readAudit: (options) => inner.readAudit(options),
    setTimer: (set, member, atMs) => inner.setTimer(set, member, atMs),
    dueTimers: (set, nowMs) => inner.dueTimers(set, nowMs),
    clearTimer: (set, member) => inner.clearTimer(set, member),
    close: () => inner.close(),
  };
  return { store, count, inner };
}

const bridges: VmBridge[] = [];
afterEach(async () => {
  await Promise.all(bridges.splice(0).map((b) => b.stop()));
});

async function newGroupOf(
  hosts: number,
  reportFlushMs = 0,
): Promise<{ bridge: VmBridge; count: DocCount; inner: StateStore; transitions: () => number }> {
  const { store, count, inner } = newCountingStore();
  let transitions = 0;
  const counted: StateStore = {
    ...store,
    transition: (request) => {
      transitions++;
      return store.transition(request);
    },
  };
  const bridge = new VmBridge({
    store: counted,
    catalog: staticBundleCatalog({}),
    groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
    // no tick during the test: each step is driven here; reports and registrations are written as they come
    // unless the test asks for the pacing of busy groups
    settings: { tickMs: 3_600_000, leaseTtlMs: 7_200_000, reportFlushMs },
  });
  bridges.push(bridge);
  await bridge.start();
  for (let i = 0; i < hosts; i++)
    await bridge.registerHost('web', AUTH, { host: `h${i}`, tokenSha256: hashToken(`t${i}`), runningVersion: 'v1' });
  return { bridge, count, inner, transitions: () => transitions };
}

/** Documents read and written by `step` alone. */
async function costOf(count: DocCount, step: () => Promise<unknown>): Promise<DocCount> {
  const before = { ...count };
  await step();
  return { read: count.read - before.read, written: count.written - before.written };
}

describe('group writes: work per change, never per group', () => {
  it('Given groups of 5 and 400 hosts, When a host reports, registers or the group is reconciled, Then the store documents read and written are the same few for both', async () => {
    const costs = [];
    for (const size of [5, 400]) {
      const { bridge, count } = await newGroupOf(size);
      const report = await costOf(count, () =>
        bridge.report('h1', { runningVersion: 'v1', healthy: true, phase: AgentPhase.Idle }),
      );
      const registration = await costOf(count, () =>
        bridge.registerHost('web', AUTH, { host: 'new', tokenSha256: hashToken('tn'), runningVersion: 'v1' }),
      );
      const tick = await costOf(count, () => bridge.reconcile('web'));
      costs.push({ report, registration, tick });
    }
    const [small, large] = costs;
    // a report writes its host; a registration its host and its token; a tick with no news nothing
    expect(large).toEqual({
      report: { read: 0, written: 1 },
      registration: { read: 0, written: 2 },
      tick: { read: 0, written: 0 },
    });
    expect(large).toEqual(small);
  });

  it('Given a busy group, When 300 hosts enroll and then all report at once, Then they are written in a few coalesced writes, each host answered', async () => {
    const { bridge, transitions } = await newGroupOf(0, 50);
    const before = transitions();
    const registered = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        bridge.registerHost('web', AUTH, { host: `h${i}`, tokenSha256: hashToken(`t${i}`), runningVersion: 'v1' }),
      ),
    );
    expect(registered.every((r) => r.result === 'created')).toBe(true);
    const conflict = await bridge
      .registerHost('web', AUTH, { host: 'h7', tokenSha256: hashToken('another'), runningVersion: 'v1' })
      .catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: 'HOST_CONFLICT' });
    const enrolled = transitions() - before;
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        bridge.report(`h${i}`, { runningVersion: 'v1', healthy: true, phase: AgentPhase.Idle }),
      ),
    );
    const reported = transitions() - before - enrolled;
    // one write per flush: the first item alone, then everything that arrived meanwhile
    expect(enrolled).toBeLessThanOrEqual(3);
    expect(reported).toBeLessThanOrEqual(3);
    const { hosts } = await bridge.snapshot('web');
    expect(hosts).toHaveLength(300);
    expect(hosts.every((h) => h.report?.healthy === true)).toBe(true);
  });

  it('Given two hosts claiming one name in the same flush, When both register, Then the first keeps it and the second is refused', async () => {
    const { bridge } = await newGroupOf(0, 50);
    await bridge.registerHost('web', AUTH, { host: 'warm', tokenSha256: hashToken('w'), runningVersion: 'v1' });
    const [first, second] = await Promise.allSettled([
      bridge.registerHost('web', AUTH, { host: 'twin', tokenSha256: hashToken('one'), runningVersion: 'v1' }),
      bridge.registerHost('web', AUTH, { host: 'twin', tokenSha256: hashToken('two'), runningVersion: 'v1' }),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { result: 'created' } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'HOST_CONFLICT' } });
    // the first host's token is the one stored: it registers again as itself
    const again = await bridge.registerHost('web', AUTH, {
      host: 'twin',
      tokenSha256: hashToken('one'),
      runningVersion: 'v1',
    });
    expect(again.result).toBe('unchanged');
  });

  it('Given a group document changed behind the bridge (same epoch), When a host reports, Then the write conflicts, the group is read again and the report lands on the new state', async () => {
    const { bridge, inner } = await newGroupOf(3);
    const lease = await inner.leaseHolder(bridge.settings.leaseName);
    const stored = await inner.read(groupScope('web'), 'host/h2');
    expect(lease).toBeDefined();
    expect(stored).toBeDefined();
    const moved = { ...(stored?.value as object), desiredVersion: 'v9' };
    const written = await inner.transition({
      scope: groupScope('web'),
      epoch: lease?.epoch ?? 0,
      writes: [{ name: 'host/h2', value: moved }],
    });
    expect(written.ok).toBe(true);

    await bridge.report('h2', { runningVersion: 'v1', healthy: true, phase: AgentPhase.Idle });

    const { hosts } = await bridge.snapshot('web');
    const h2 = hosts.find((h) => h.name === 'h2');
    expect(h2?.desiredVersion).toBe('v9');
    expect(h2?.report?.runningVersion).toBe('v1');
  });
});
