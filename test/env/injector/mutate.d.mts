// Types of mutate.mjs.
export declare const DEFAULT_HUB: string;
export declare const FAULT_ANNOTATION: 'meshwave.test/fault';
export declare const STATUS_ANNOTATION: 'sidecar.istio.io/status';
export declare function versionOfRevision(revision: string): string;
export declare function injectSidecar<T extends object>(
  pod: T,
  params: { revision: string; version: string; hub?: string; fault?: string | null; namespace?: string },
): T;
export declare function diffPatch(before: object, after: object): { op: 'add'; path: string; value: unknown }[];
