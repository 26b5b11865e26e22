import { createInMemoryStore, type StateStore, type VersionedDoc } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import { newRolloutState, type RolloutRecord } from '../core/rollout-state.js';
import { T0 as T1, newHarness } from '../core/engine-harness.js';
import { PlannerErrorCode } from '../errors.js';
import {
  FleetDoc,
  RolloutDoc,
  ValidatedDocs,
  loadRollout,
  mergeInventory,
  readCachedScope,
  stateWrite,
} from './store-layout.js';

const T0 = new Date('2026-11-22T20:00:00Z');
const newRecord = (): RolloutRecord =>
  ({
    id: 'r1-20261122-ab12',
    spec: { metadata: { name: 'r1' } },
    plan: { waves: [] },
    createdAt: T0.toISOString(),
    createdBy: 'alice',
    notBefore: [],
  }) as unknown as RolloutRecord;
const docsOf = (values: Record<string, unknown>): Map<string, VersionedDoc> =>
  new Map(Object.entries(values).map(([name, value]) => [name, { value, version: 1 }]));

describe('stored documents are parsed on read', () => {
  it('Given a rollout as the planner stores it, When it is loaded, Then record and state come back as written', () => {
    const state = newRolloutState(T0);
    const loaded = loadRollout(docsOf({ [RolloutDoc.Record]: newRecord(), [RolloutDoc.State]: state }), new Map());
    expect(loaded?.record).toEqual(newRecord());
    expect(loaded?.state).toEqual(state);
  });

  it('Given a state the engine made mid-rollout (targets acknowledged, a deadline track, history), When it is loaded, Then every field comes back as written (none is dropped by the stored schema)', () => {
    const h = newHarness(
      {
        deadline: new Date(T1.getTime() + 4 * 3_600_000).toISOString(),
        waves: [{ name: 'first', percent: 100 }],
        defaults: { soak: '0s', maxUnavailable: '20%', batchEstimate: '1m' },
        pacing: { maxUnavailableCeiling: '50%' },
      },
      undefined,
      T1,
    );
    h.settle();
    h.now = new Date(T1.getTime() + 3_600_000);
    h.reconcile();
    const state = h.state;
    expect(Object.values(state.targets).some((t) => t.ackedAt !== undefined)).toBe(true);
    expect(state.deadlineTrack).toBeDefined();
    const loaded = loadRollout(docsOf({ [RolloutDoc.Record]: h.record, [RolloutDoc.State]: state }), new Map());
    expect(loaded?.state).toEqual(state);
  });

  it('Given a stored state of another shape (no history, a wave as text), When the rollout is loaded, Then STORED_DOCUMENT_INVALID names the document and the fields', () => {
    const { history: _history, ...partial } = newRolloutState(T0);
    const docs = docsOf({ [RolloutDoc.Record]: newRecord(), [RolloutDoc.State]: { ...partial, wave: 'one' } });
    expect(() => loadRollout(docs, new Map())).toThrow(
      expect.objectContaining({
        code: PlannerErrorCode.StoredDocumentInvalid,
        message: expect.stringMatching(/stored document state is invalid: .*wave.*history/),
      }),
    );
  });

  it('Given an agent inventory report stored without its workloads, When the fleet is merged, Then STORED_DOCUMENT_INVALID names the document', () => {
    const name = FleetDoc.cluster('prod-1');
    const docs = docsOf({ [name]: { report: { cluster: 'prod-1', generation: 1 }, receivedAt: T0.toISOString() } });
    expect(() => mergeInventory(docs)).toThrow(
      expect.objectContaining({
        code: PlannerErrorCode.StoredDocumentInvalid,
        message: expect.stringContaining(`stored document ${name} is invalid`),
      }),
    );
  });
});

describe('a cached scope is read for what changed (ADR 0031)', () => {
  it('Given a rollout loaded once, When it is read again, Then its record (the plan) is neither sent nor parsed, and loads as written', async () => {
    const inner = createInMemoryStore();
    const values: unknown[] = [];
    // what the store hands out: the record must not be among the values of the second read
    const store: Pick<StateStore, 'readScope' | 'readScopeChanges'> = {
      readScope: async (scope) => {
        const docs = await inner.readScope(scope);
        values.push(...[...docs.values()].map((d) => d.value));
        return docs;
      },
      readScopeChanges: async (scope, known) => {
        const changes = await inner.readScopeChanges(scope, known);
        values.push(...[...changes.changed.values()].map((d) => d.value));
        return changes;
      },
    };
    const state = newRolloutState(T0);
    await inner.transition({
      scope: 'r1',
      epoch: 1,
      writes: [{ name: RolloutDoc.Record, value: newRecord() }, stateWrite(state, 1, 0)],
    });
    const validated = new ValidatedDocs();
    loadRollout(await readCachedScope(store, 'r1', validated), new Map(), validated, 'r1');
    values.length = 0;

    const again = loadRollout(await readCachedScope(store, 'r1', validated), new Map(), validated, 'r1');

    expect(values).not.toContainEqual(newRecord());
    expect(again?.record).toEqual(newRecord());
    expect(again?.state.phase).toBe(state.phase);
  });
});
