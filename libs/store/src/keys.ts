/**
 * The Redis key layout. Every key of a scope carries the scope as its hash tag (`mw:{<scope>}:…`), so a
 * transition's Lua script touches one Redis Cluster slot only. Keys that are not per scope (lease, timers,
 * kind index, fleet audit) have their own tag.
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  docs = (scope: string): string => `${this.prefix}:{${scope}}:docs`;
  versions = (scope: string): string => `${this.prefix}:{${scope}}:versions`;
  /** the highest epoch that has written to the scope (the fence) */
  epoch = (scope: string): string => `${this.prefix}:{${scope}}:epoch`;
  /** kind → number of documents of that kind in the scope */
  kinds = (scope: string): string => `${this.prefix}:{${scope}}:kinds`;
  scopeAudit = (scope: string): string => `${this.prefix}:{${scope}}:audit`;
  /** scopes that (probably) hold a document of a kind; `listScopes` re-checks each against `kinds` */
  kindIndex = (kind: string): string => `${this.prefix}:{index/${kind}}:scopes`;
  fleetAudit = (): string => `${this.prefix}:{audit}:fleet`;
  leaseHolder = (name: string): string => `${this.prefix}:{lease/${name}}:holder`;
  leaseEpoch = (name: string): string => `${this.prefix}:{lease/${name}}:epoch`;
  timers = (set: string): string => `${this.prefix}:{timers/${set}}:due`;
}

/** The value stored under a lease key: epoch first, so a holder name may contain anything. */
export const leaseValue = (holder: string, epoch: number): string => `${epoch}:${holder}`;

export function parseLeaseValue(value: string): { holder: string; epoch: number } | undefined {
  const colon = value.indexOf(':');
  if (colon < 0) return undefined;
  const epoch = Number(value.slice(0, colon));
  return Number.isSafeInteger(epoch) ? { holder: value.slice(colon + 1), epoch } : undefined;
}
