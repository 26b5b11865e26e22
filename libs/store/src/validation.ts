import { StoreError, StoreErrorCode } from './errors.js';
import type { TransitionRequest } from './state-store.js';

/** The kind of a document: its name up to the first `/`. */
export const kindOf = (name: string): string => {
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
};

/** Braces are refused by every implementation: in Redis the scope is the Cluster hash tag `{scope}`. */
export function checkScope(scope: string): void {
  if (scope === '' || /[{}]/.test(scope)) {
    throw new StoreError(StoreErrorCode.InvalidRequest, `a scope must be non-empty and free of braces, got "${scope}"`);
  }
}

/** Checks what both implementations refuse alike, and serialises each value once. */
export function checkTransition(
  request: TransitionRequest,
): { readonly name: string; readonly json: string | null; readonly expectedVersion?: number }[] {
  // Braces are refused by every implementation: in Redis the scope is the Cluster hash tag `{scope}`.
  if (request.scope === '' || /[{}]/.test(request.scope)) {
    throw new StoreError(
      StoreErrorCode.InvalidRequest,
      `a scope must be non-empty and free of braces, got "${request.scope}"`,
    );
  }
  if (!Number.isSafeInteger(request.epoch) || request.epoch < 0) {
    throw new StoreError(StoreErrorCode.InvalidRequest, `epoch must be a non-negative integer, got ${request.epoch}`, {
      context: { scope: request.scope },
    });
  }
  return request.writes.map((w) => {
    if (w.name === '')
      throw new StoreError(StoreErrorCode.InvalidRequest, 'a document needs a name', {
        context: { scope: request.scope },
      });
    if (w.expectedVersion !== undefined && (!Number.isSafeInteger(w.expectedVersion) || w.expectedVersion < 0)) {
      throw new StoreError(
        StoreErrorCode.InvalidRequest,
        `expectedVersion of "${w.name}" must be a non-negative integer`,
        { context: { scope: request.scope } },
      );
    }
    let json: string | null = null;
    if (w.value !== null) {
      const text = JSON.stringify(w.value) as string | undefined;
      if (text === undefined)
        throw new StoreError(StoreErrorCode.InvalidRequest, `value of "${w.name}" is not JSON-serialisable`, {
          context: { scope: request.scope },
        });
      json = text;
    }
    return { name: w.name, json, ...(w.expectedVersion !== undefined ? { expectedVersion: w.expectedVersion } : {}) };
  });
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new StoreError(StoreErrorCode.InvalidRequest, `a lease ttl must be a positive integer of ms, got ${ttlMs}`);
}

export const DEFAULT_AUDIT_LIMIT = 100;

/** Audit retention when none is configured: 90 days (ADR 0015). */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 3600 * 1000;

export function checkRetention(retentionMs: number): number {
  if (!Number.isSafeInteger(retentionMs) || retentionMs <= 0)
    throw new StoreError(
      StoreErrorCode.InvalidRequest,
      `an audit retention must be a positive integer of ms, got ${retentionMs}`,
    );
  return retentionMs;
}

/** A stream id `<ms>-<seq>` as two numbers; refuses anything else (a cursor comes from a client). */
export function parseStreamId(id: string): { ms: number; seq: number } {
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(id);
  const ms = Number(m?.[1]);
  const seq = Number(m?.[2]);
  if (m === null || !Number.isSafeInteger(ms) || !Number.isSafeInteger(seq))
    throw new StoreError(StoreErrorCode.InvalidRequest, `an audit cursor is a stream id "<ms>-<seq>", got "${id}"`);
  return { ms, seq };
}

export function checkAuditLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new StoreError(StoreErrorCode.InvalidRequest, `an audit limit must be a positive integer, got ${n}`);
  return n;
}
