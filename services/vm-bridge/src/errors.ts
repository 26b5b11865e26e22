/** Stable codes for every error the vm-bridge raises; callers switch on `code`, never on messages. */
export const VmBridgeErrorCode = {
  /** the bearer token is missing or matches no host */
  Unauthenticated: 'UNAUTHENTICATED',
  /** the token is valid but belongs to another host */
  Forbidden: 'FORBIDDEN',
  UnknownHost: 'UNKNOWN_HOST',
  UnknownGroup: 'UNKNOWN_GROUP',
  /** a host name is already registered with another token */
  HostConflict: 'HOST_CONFLICT',
  /** the desired version has no bundle in the catalog */
  UnknownBundle: 'UNKNOWN_BUNDLE',
  /** a state-store write kept conflicting */
  StoreConflict: 'STORE_CONFLICT',
  /** another bridge holds a higher fencing epoch */
  Fenced: 'FENCED',
  InvalidConfig: 'INVALID_CONFIG',
} as const;
export type VmBridgeErrorCode = (typeof VmBridgeErrorCode)[keyof typeof VmBridgeErrorCode];

/** Every error raised by this package. `retryable` says whether doing the same thing again may succeed. */
export class VmBridgeError extends Error {
  readonly code: VmBridgeErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  readonly retryable: boolean;

  constructor(
    code: VmBridgeErrorCode,
    message: string,
    options: { context?: Record<string, unknown>; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'VmBridgeError';
    this.code = code;
    this.context = Object.freeze({ ...options.context });
    this.retryable = options.retryable ?? false;
  }
}

export function isVmBridgeError(e: unknown, code?: VmBridgeErrorCode): e is VmBridgeError {
  return e instanceof VmBridgeError && (code === undefined || e.code === code);
}
