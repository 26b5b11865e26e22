import type { Clock } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import type { KubernetesPort } from '../ports/kubernetes-port.js';

/**
 * A tag move's one cluster-wide write (ADR 0035): before a unit labelled with a revision tag restarts, the tag is
 * pointed at the unit's revision, so the restart's pods are injected by it. The write compares before it writes
 * (two gets); a tag found pointed is trusted for `okForMs` so a wave of units does not read it once each.
 */
export interface RevisionTagPointer {
  /** points `tag` at `revision`; why it could not (the tag or the revision's webhook missing), else undefined */
  point(tag: string, revision: string): Promise<string | undefined>;
  /** istio-system changed: read again at the next ask */
  forget(): void;
}

export function createRevisionTagPointer(options: {
  readonly port: Pick<KubernetesPort, 'pointRevisionTag'>;
  readonly clock: Clock;
  readonly okForMs: number;
  readonly log: Logger;
}): RevisionTagPointer {
  const pointedUntil = new Map<string, number>();
  return {
    async point(tag, revision) {
      const key = `${tag}\u0000${revision}`;
      if ((pointedUntil.get(key) ?? -Infinity) > options.clock.now()) return undefined;
      // one tag points one way: an earlier answer for another revision no longer holds
      for (const k of pointedUntil.keys()) if (k.startsWith(`${tag}\u0000`)) pointedUntil.delete(k);
      const write = await options.port.pointRevisionTag(tag, revision);
      if (write.outcome === 'missing') return write.detail;
      if (write.outcome === 'updated') options.log.info({ tag, revision }, 'revision tag moved');
      pointedUntil.set(key, options.clock.now() + options.okForMs);
      return undefined;
    },
    forget: () => pointedUntil.clear(),
  };
}
