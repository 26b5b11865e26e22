import { HandlerRejectedError, type IncomingMessage } from '@meshwave/bus';
import { InventoryReport, MessageType } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { AgentReports, type ReconcilePort } from './agent-reports.js';
import type { InventoryResyncs } from './inventory-resync.js';
import type { PlannerContext } from './planner-context.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const lease = { name: 'planner/leader', holder: 'test', epoch: 1 };

/** The intake's handler, with what it passed on to the fleet inventory. */
async function newIntake(): Promise<{
  take: (m: Partial<IncomingMessage>) => Promise<void>;
  stored: string[];
  reports: InventoryReport[];
}> {
  const stored: string[] = [];
  const inventories: InventoryReport[] = [];
  let handler: ((m: IncomingMessage) => Promise<void>) | undefined;
  const context = {
    clock: { now: () => NOW },
    config: { eventsGroupId: 'planner', heartbeatTimeoutMs: 60_000 },
    heard: new Map(),
    bus: { subscribe: async (o: { handler: typeof handler }) => void (handler = o.handler) },
  } as unknown as PlannerContext;
  const reports = new AgentReports(context, { current: lease, lost: async () => {} }, {} as ReconcilePort, {
    storeReport: async (_l, r) => {
      stored.push(`inventory ${r.generation}`);
      inventories.push(r);
    },
    storeDelta: async (_l, d) => void stored.push(`delta ${d.generation}`),
    storeVmGroup: async () => {},
    storeVmMembership: async () => {},
    heardFrom: async () => {},
    resyncs: { request: async () => true, received: () => {} } as unknown as InventoryResyncs,
  });
  await reports.subscribe();
  return { take: (m) => handler!(m as IncomingMessage), stored, reports: inventories };
}

describe('agent reports: generations from the future (ADR 0038)', () => {
  it('refuses to the DLQ an inventory or delta whose generation is far ahead of the clock, and takes a genuine one', async () => {
    const { take, stored } = await newIntake();
    const forged = Number.MAX_SAFE_INTEGER;
    const inventory = { cluster: 'c1', labels: {}, workloads: [] };
    const delta = { ...inventory, base: NOW, upserted: [], removed: [] };
    await expect(take({ type: MessageType.Inventory, data: { ...inventory, generation: forged } })).rejects.toThrow(
      HandlerRejectedError,
    );
    await expect(take({ type: MessageType.InventoryDelta, data: { ...delta, generation: forged } })).rejects.toThrow(
      /from the future/,
    );
    await take({ type: MessageType.Inventory, data: { ...inventory, generation: NOW } });
    await take({ type: MessageType.InventoryDelta, data: { ...delta, generation: NOW + 1 } });
    expect(stored).toEqual([`inventory ${NOW}`, `delta ${NOW + 1}`]);
  });
});

describe('agent reports: what is kept of a report (issue 15)', () => {
  it('Given two clusters’ inventories parsed from their JSON, When taken, Then their workloads share one labels object per label set', async () => {
    const { take, reports } = await newIntake();
    const parsed = (cluster: string): InventoryReport =>
      InventoryReport.parse(
        JSON.parse(
          JSON.stringify({
            cluster,
            generation: NOW,
            workloads: ['a', 'b'].map((name) => ({
              namespace: 'shop',
              kind: 'Deployment',
              name,
              labels: { app: 'shop' },
              revision: '1-24-5',
            })),
          }),
        ),
      );
    await take({ type: MessageType.Inventory, data: parsed('c1') });
    await take({ type: MessageType.Inventory, data: parsed('c2') });
    const [c1, c2] = reports.map((r) => r.workloads);
    expect(c1![0]!.labels).toBe(c2![1]!.labels);
    expect(c2![1]!.labels).toEqual({ app: 'shop' });
  });
});
