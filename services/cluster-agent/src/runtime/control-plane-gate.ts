import { controlPlaneNotReady } from '@meshwave/istio';
import type { Clock } from '@meshwave/reconcile';
import type { IstioInstallation } from '../ports/kubernetes-port.js';

/**
 * The agent's live check before it restarts the first pods of its cluster onto a revision (ADR 0028): that
 * revision's istiod is ready and its injection webhook registered, read from the apiserver (the port's two list
 * calls), not from the inventory the plan was made with. A revision found ready is trusted for `okForMs` or until
 * istio-system changes; one that is not is read again at the next ask, so it starts as soon as it is there.
 */
export interface ControlPlaneGate {
  /** why units must not be restarted onto `revision` now; undefined when they may */
  blocker(revision: string): Promise<string | undefined>;
  /** istio-system changed: every revision is read again at its next ask */
  forget(): void;
}

function notReadyThroughTags(installation: IstioInstallation, revision: string): string | undefined {
  const pointed = installation.tags[revision];
  if (pointed === undefined) return controlPlaneNotReady(installation, revision);
  const why = controlPlaneNotReady(installation, pointed);
  return why === undefined ? undefined : `revision tag ${revision} points at ${pointed}: ${why}`;
}

export function createControlPlaneGate(options: {
  readonly read: () => Promise<IstioInstallation | undefined>;
  readonly clock: Clock;
  readonly okForMs: number;
}): ControlPlaneGate {
  const readyUntil = new Map<string, number>();
  return {
    async blocker(revision) {
      if ((readyUntil.get(revision) ?? -Infinity) > options.clock.now()) return undefined;
      let installation: IstioInstallation | undefined;
      try {
        installation = await options.read();
      } catch (err) {
        return `the control planes could not be read: ${(err as Error).message}`;
      }
      // A cluster that cannot say (a simulated cluster of any revision) has nothing to check against. A target that
      // is a revision tag is checked on the revision the tag points at now (ADR 0046).
      const why = installation === undefined ? undefined : notReadyThroughTags(installation, revision);
      if (why === undefined) readyUntil.set(revision, options.clock.now() + options.okForMs);
      else readyUntil.delete(revision);
      return why;
    },
    forget: () => readyUntil.clear(),
  };
}
