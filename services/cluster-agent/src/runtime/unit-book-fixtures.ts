import { UnitState, unitKey, type UnitTarget } from '@meshwave/contracts';
import { newDesiredState } from '../core/command-fixtures.js';
import type { CommandLedger } from '../core/command-ledger.js';
import type { UnitBook, UnitStatus } from './unit-book.js';

/** `count` workload units of cluster c1 moving to 1-25-2, 500 per namespace, for tests. */
export const newTargets = (count: number): UnitTarget[] =>
  Array.from({ length: count }, (_, i) => ({
    namespace: `team-${Math.floor(i / 500)}`,
    kind: 'Deployment',
    name: `w-${String(i).padStart(4, '0')}`,
    revision: '1-25-2',
  }));

/** A ledger holding one rollout (r1) of these units at workload granularity, for tests. */
export function newLedger(targets: readonly UnitTarget[], maxUnavailable: number, halted = false): CommandLedger {
  const desired = newDesiredState({ granularity: 'workload', maxUnavailable, units: [...targets], halted });
  return { epoch: 1, seq: 1, rollouts: { r1: { desired, seq: 1 } } };
}

/** The status of an assigned unit as an assessment would give it, for tests. */
export function newStatus(book: UnitBook, target: UnitTarget, state: UnitState, message?: string): UnitStatus {
  const key = unitKey(target);
  return {
    key,
    state,
    ...(message !== undefined ? { message } : {}),
    inFlight: state === UnitState.Restarting,
    injectedRevision: null,
    toRestart: [],
    hasWrites: false,
    unavailableReplicas: 0,
    restarts: 0,
    crashLooping: false,
    sidecarMismatch: false,
    assignment: book.units.get(key)!,
  };
}

/** Counts the entries every walk of the book's statuses visits (iteration, entries, values, keys). */
export function countStatusWalks(book: UnitBook): () => number {
  let visited = 0;
  const counted = <T>(walk: () => IterableIterator<T>) =>
    function* (): Generator<T> {
      for (const x of walk()) {
        visited++;
        yield x;
      }
    };
  const statuses = book.statuses;
  const entries = statuses.entries.bind(statuses);
  const values = statuses.values.bind(statuses);
  const keys = statuses.keys.bind(statuses);
  Object.assign(statuses, {
    [Symbol.iterator]: counted(entries),
    entries: counted(entries),
    values: counted(values),
    keys: counted(keys),
  });
  return () => visited;
}
