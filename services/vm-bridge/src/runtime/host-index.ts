import type { HostRecord } from '../core/batch-decision.js';
import type { StoredGroup } from '../adapters/group-store.js';

/** A registered host as the bridge answers it: its group, its token's digest and its record as last written. */
export interface HostIndexEntry {
  readonly group: string;
  tokenSha256: string;
  record: HostRecord;
}

/**
 * Every host of the groups served here, kept in memory beside the store so that authentication and long polls
 * need no store read, and the hosts' waiting long polls, woken when their desired state changes.
 */
export class HostIndex {
  private readonly entries = new Map<string, HostIndexEntry>();
  private readonly waiters = new Map<string, Set<() => void>>();

  get(host: string): HostIndexEntry | undefined {
    return this.entries.get(host);
  }

  set(host: string, entry: HostIndexEntry): void {
    this.entries.set(host, entry);
  }

  /** Forgets a host; its long poll answers now, and its token is refused from the next request on. */
  remove(host: string): void {
    this.entries.delete(host);
    this.wake(host);
  }

  /** the host a token digest belongs to, if any */
  hostOfToken(matches: (tokenSha256: string) => boolean): string | undefined {
    for (const [name, entry] of this.entries) if (matches(entry.tokenSha256)) return name;
    return undefined;
  }

  /**
   * Makes the group's entries what the store holds: its hosts are indexed, and a host of the group the store no
   * longer holds (removed by another replica, or lost with the store's data) is forgotten, so that its next request
   * is refused and it enrolls again instead of being answered from a record nothing will ever write. Returns the
   * hosts forgotten.
   */
  refresh(loaded: StoredGroup): string[] {
    const forgotten: string[] = [];
    for (const [name, entry] of this.entries) {
      if (entry.group !== loaded.name) continue;
      if (loaded.credentials.has(name) && loaded.hosts.has(name)) continue;
      forgotten.push(name);
      this.remove(name);
    }
    for (const [name, { credential }] of loaded.credentials) {
      const record = loaded.hosts.get(name)?.record;
      if (record !== undefined)
        this.entries.set(name, { group: loaded.name, tokenSha256: credential.tokenSha256, record });
    }
    return forgotten;
  }

  /** Waits until `wake(host)`, `ms` passed or `signal` aborted. */
  wait(host: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(host) ?? new Set<() => void>();
      this.waiters.set(host, set);
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  wake(host: string): void {
    for (const wake of [...(this.waiters.get(host) ?? [])]) wake();
  }

  wakeAll(): void {
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }
}
