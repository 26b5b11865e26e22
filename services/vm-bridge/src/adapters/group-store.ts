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

/**
 * A group as read, then kept by the leader in memory and brought up to date by every committed write
 * (`commitGroupWrites`), so that a write reads nothing and writes only what changed (ADR 0024).
 */
export interface StoredGroup {
  readonly name: string;
  group: GroupRecord;
  groupVersion: number;
  readonly hosts: Map<string, { readonly record: HostRecord; readonly version: number }>;
  readonly credentials: Map<string, { readonly credential: HostCredential; readonly version: number }>;
}

export const groupScope = (group: string): string => vmGroupKey(group);
/** name prefix of a host's document (`host/<name>`) */
export const HOST_DOC = 'host/';
const HOST = HOST_DOC;
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
  /**
   * host records to write; a record that is the very object already stored is unchanged and skipped (the
   * decision returns unchanged hosts as the same object), so no host is ever compared field by field
   */
  readonly hosts?: readonly HostRecord[];
  readonly credentials?: ReadonlyMap<string, HostCredential>;
  /** hosts taken out of the group: their record and token are deleted */
  readonly removedHosts?: readonly string[];
}

/** One document write of a group, with the value it stores (null: deleted). */
export interface GroupWrite {
  readonly name: string;
  readonly value: unknown;
  readonly expectedVersion: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The writes that bring `loaded` to `changes`: only the documents that changed, each fenced by the version read. */
export function groupWrites(loaded: StoredGroup, changes: GroupChanges): GroupWrite[] {
  const writes: GroupWrite[] = [];
  if (changes.group !== undefined && changes.group !== loaded.group && !same(changes.group, loaded.group)) {
    writes.push({ name: 'group', value: changes.group, expectedVersion: loaded.groupVersion });
  }
  for (const h of changes.hosts ?? []) {
    const prev = loaded.hosts.get(h.name);
    if (prev !== undefined && prev.record === h) continue;
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
  return writes;
}

/**
 * Writes `writes` (from `groupWrites`) all or nothing in one fenced transition: a concurrent writer makes it fail
 * with `version-conflict`, a newer leader with `stale-epoch`. Returns `unchanged` when there is nothing to write.
 */
export async function saveGroup(
  store: StateStore,
  epoch: number,
  name: string,
  writes: readonly GroupWrite[],
  audit?: AuditEntry,
): Promise<TransitionResult | 'unchanged'> {
  if (writes.length === 0) return 'unchanged';
  return store.transition({ scope: groupScope(name), epoch, writes, ...(audit !== undefined ? { audit } : {}) });
}

/** Brings the group kept in memory up to what a committed transition wrote (its new versions included). */
export function commitGroupWrites(
  view: StoredGroup,
  writes: readonly GroupWrite[],
  versions: Readonly<Record<string, number>>,
): void {
  for (const w of writes) {
    const version = versions[w.name] ?? 0;
    if (w.name === 'group') {
      view.group = w.value as GroupRecord;
      view.groupVersion = version;
    } else if (w.name.startsWith(HOST)) {
      const host = w.name.slice(HOST.length);
      if (w.value === null) view.hosts.delete(host);
      else view.hosts.set(host, { record: w.value as HostRecord, version });
    } else if (w.name.startsWith(TOKEN)) {
      const host = w.name.slice(TOKEN.length);
      if (w.value === null) view.credentials.delete(host);
      else view.credentials.set(host, { credential: w.value as HostCredential, version });
    }
  }
}
