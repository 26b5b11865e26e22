import type { RolloutSummary } from '@meshwave/contracts';
import type { StateStore } from '@meshwave/store';
import { rolloutHeadOf, withStateOf, type RolloutHead } from '../views/rollout-status.js';
import { StoredRolloutRecord, StoredRolloutState, parseStored } from './stored-documents.js';
import { ROLLOUT_KIND, RolloutDoc } from './store-layout.js';

/** One rollout's summary as last built, with the versions of the documents it came from. */
interface Summarized {
  readonly recordVersion: number;
  readonly head: RolloutHead;
  readonly stateVersion: number;
  readonly summary: RolloutSummary;
}

/**
 * `GET /v1/rollouts`: every rollout's summary. A rollout's record holds its whole plan and inventory (every unit:
 * megabytes at 100,000 units), and the list needs seven fields of it that never change: the record is fetched
 * and parsed once per version, the state only when its version moved, and an unchanged rollout costs two version
 * reads (issue 15). Bounded by the rollouts in the store: a rollout gone from it is dropped at the next list.
 */
export class RolloutSummaries {
  private readonly summarized = new Map<string, Summarized>();

  constructor(private readonly store: Pick<StateStore, 'listScopes' | 'read' | 'readVersion'>) {}

  /** every stored rollout's summary, newest first */
  async list(): Promise<RolloutSummary[]> {
    const ids = await this.store.listScopes(ROLLOUT_KIND);
    const out: RolloutSummary[] = [];
    for (const id of ids) {
      const summary = await this.summaryOf(id);
      if (summary !== undefined) out.push(summary);
    }
    const listed = new Set(ids);
    for (const id of this.summarized.keys()) if (!listed.has(id)) this.summarized.delete(id);
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  private async summaryOf(id: string): Promise<RolloutSummary | undefined> {
    const { store } = this;
    const [recordVersion, stateVersion] = await Promise.all([
      store.readVersion(id, RolloutDoc.Record),
      store.readVersion(id, RolloutDoc.State),
    ]);
    const known = this.summarized.get(id);
    if (known?.recordVersion === recordVersion && known.stateVersion === stateVersion) return known.summary;
    const [record, state] = await Promise.all([
      known?.recordVersion === recordVersion ? undefined : store.read(id, RolloutDoc.Record),
      store.read(id, RolloutDoc.State),
    ]);
    if (state === undefined || (record === undefined && known?.recordVersion !== recordVersion)) {
      this.summarized.delete(id);
      return undefined;
    }
    const head =
      record !== undefined ? rolloutHeadOf(parseStored(StoredRolloutRecord, record, RolloutDoc.Record)) : known!.head;
    const summary = withStateOf(head, parseStored(StoredRolloutState, state, RolloutDoc.State));
    this.summarized.set(id, {
      recordVersion: record?.version ?? recordVersion,
      head,
      stateVersion: state.version,
      summary,
    });
    return summary;
  }
}
