import type { AuditEntry, StateStore, TransitionResult } from '@meshwave/store';
import { vmGroupKey } from '@meshwave/contracts';
import { newGroupRecord, type GroupRecord, type HostRecord } from '../core/batch-decision.js';

// Layout of one VM group in the StateStore. Scope `vmgroup/<name>` (one hash slot per group):
//   group          GroupRecord: command in force, halt, batch in flight
//   host/<name>    HostRecord: desired version, previous version, last report
//   token/<name>   HostCredential: sha256 of the host's bearer token

export interface HostCredential {
  readonly tokenSha256: string;
  readonly registeredAt: number;
}

export interface StoredGroup {
  readonly name: string;
  readonly group: GroupRecord;
  readonly groupVersion: number;
  readonly hosts: ReadonlyMap<string, { readonly record: HostRecord; readonly version: number }>;
  readonly credentials: ReadonlyMap<string, { readonly credential: HostCredential; readonly version: number }>;
}

export const groupScope = (group: string): string => vmGroupKey(group);
const HOST = 'host/';
const TOKEN = 'token/';

export async function loadGroup(store: StateStore, name: string): Promise<StoredGroup> {
  const docs = await store.readScope(groupScope(name));
  const hosts = new Map<string, { record: HostRecord; version: number }>();
  const credentials = new Map<string, { credential: HostCredential; version: number }>();
  let group: GroupRecord = newGroupRecord();
  let groupVersion = 0;
  for (const [doc, v] of docs) {
    if (doc === 'group') {
      group = v.value as GroupRecord;
      groupVersion = v.version;
    } else if (doc.startsWith(HOST)) {
      hosts.set(doc.slice(HOST.length), { record: v.value as HostRecord, version: v.version });
    } else if (doc.startsWith(TOKEN)) {
      credentials.set(doc.slice(TOKEN.length), { credential: v.value as HostCredential, version: v.version });
    }
  }
  return { name, group, groupVersion, hosts, credentials };
}

export interface GroupChanges {
  readonly group?: GroupRecord;
  readonly hosts?: readonly HostRecord[];
  readonly credentials?: ReadonlyMap<string, HostCredential>;
  /** hosts taken out of the group: their record and token are deleted */
  readonly removedHosts?: readonly string[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Writes what changed since `loaded`, all or nothing, each document compared to the version read (a
 * concurrent writer makes it fail with `version-conflict`). Returns `unchanged` when there was nothing to write.
 */
export async function saveGroup(
  store: StateStore,
  epoch: number,
  loaded: StoredGroup,
  changes: GroupChanges,
  audit?: AuditEntry,
): Promise<TransitionResult | 'unchanged'> {
  const writes: { name: string; value: unknown; expectedVersion: number }[] = [];
  if (changes.group !== undefined && !same(changes.group, loaded.group)) {
    writes.push({ name: 'group', value: changes.group, expectedVersion: loaded.groupVersion });
  }
  for (const h of changes.hosts ?? []) {
    const prev = loaded.hosts.get(h.name);
    if (prev !== undefined && same(prev.record, h)) continue;
    writes.push({ name: `${HOST}${h.name}`, value: h, expectedVersion: prev?.version ?? 0 });
  }
  for (const [host, c] of changes.credentials ?? []) {
    const prev = loaded.credentials.get(host);
    if (prev !== undefined && same(prev.credential, c)) continue;
    writes.push({ name: `${TOKEN}${host}`, value: c, expectedVersion: prev?.version ?? 0 });
  }
  for (const host of changes.removedHosts ?? []) {
    const record = loaded.hosts.get(host);
    if (record !== undefined) writes.push({ name: `${HOST}${host}`, value: null, expectedVersion: record.version });
    const token = loaded.credentials.get(host);
    if (token !== undefined) writes.push({ name: `${TOKEN}${host}`, value: null, expectedVersion: token.version });
  }
  if (writes.length === 0) return 'unchanged';
  return store.transition({ scope: groupScope(loaded.name), epoch, writes, ...(audit !== undefined ? { audit } : {}) });
}
