// Types of registration.mjs, for tests written in TypeScript.
import type { ClusterEnv, InjectorEnv } from '../../support/env.ts';

export interface RevisionSpec {
  /** e.g. `1-25-2` */
  readonly revision: string;
  /** proxy image tag, e.g. `1.25.2`; derived from a numeric revision when omitted */
  readonly version?: string;
  /** `crashloop` makes the revision's pods crash-loop under kwok; null/omitted = healthy */
  readonly fault?: string | null;
}

export declare const DEFAULT_REVISIONS: readonly { revision: string; version: string }[];
export declare function webhookConfiguration(
  injector: InjectorEnv,
  spec: RevisionSpec & { tag?: string | null },
): Record<string, unknown>;
export declare function registerRevision(cluster: ClusterEnv, injector: InjectorEnv, spec: RevisionSpec): Promise<void>;
export declare function markRevisionBad(
  cluster: ClusterEnv,
  injector: InjectorEnv,
  revision: string,
  bad?: boolean,
): Promise<void>;
export declare function registerRevisionTag(
  cluster: ClusterEnv,
  injector: InjectorEnv,
  spec: RevisionSpec & { tag: string },
): Promise<void>;
export declare function unregisterRevision(
  cluster: ClusterEnv,
  revisionOrTag: string,
  options?: { tag?: boolean },
): Promise<void>;
export declare function registerDefaultRevisions(cluster: ClusterEnv, injector: InjectorEnv): Promise<void>;
export declare function repointRegistrations(cluster: ClusterEnv, injector: InjectorEnv): Promise<void>;
