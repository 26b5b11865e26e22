// Types of mutate.mjs.
export declare const DEFAULT_HUB: string;
export declare const FAULT_ANNOTATION: 'meshwave.test/fault';
export declare const STATUS_ANNOTATION: 'sidecar.istio.io/status';
export declare function versionOfRevision(revision: string): string;
export interface ContainerLike {
  readonly name: string;
  readonly image: string;
  readonly [field: string]: unknown;
}

/** The pod as the injector returns it (an already injected pod comes back unchanged). */
export interface InjectedPod {
  readonly metadata: {
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly [field: string]: unknown;
  };
  readonly spec: {
    readonly containers: readonly ContainerLike[];
    readonly initContainers: readonly ContainerLike[];
    readonly volumes: readonly unknown[];
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

export declare function injectSidecar(
  pod: object,
  params: { revision: string; version: string; hub?: string; fault?: string | null; namespace?: string },
): InjectedPod;
export declare function diffPatch(before: object, after: object): { op: 'add'; path: string; value: unknown }[];
