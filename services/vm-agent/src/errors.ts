/** Stable codes for every error the vm-agent raises; callers switch on `code`, never on messages. */
export const VmAgentErrorCode = {
  InvalidConfig: 'INVALID_CONFIG',
  /** the bundle's sha256 is not the one the bridge announced */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  DownloadFailed: 'DOWNLOAD_FAILED',
  UnpackFailed: 'UNPACK_FAILED',
  ProxyStartFailed: 'PROXY_START_FAILED',
  BridgeUnreachable: 'BRIDGE_UNREACHABLE',
  BridgeRejected: 'BRIDGE_REJECTED',
} as const;
export type VmAgentErrorCode = (typeof VmAgentErrorCode)[keyof typeof VmAgentErrorCode];

/** Every error raised by this package. `retryable` says whether doing the same thing again may succeed. */
export class VmAgentError extends Error {
  readonly code: VmAgentErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  readonly retryable: boolean;

  constructor(
    code: VmAgentErrorCode,
    message: string,
    options: { context?: Record<string, unknown>; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'VmAgentError';
    this.code = code;
    this.context = Object.freeze({ ...options.context });
    this.retryable = options.retryable ?? false;
  }
}

export function isVmAgentError(e: unknown, code?: VmAgentErrorCode): e is VmAgentError {
  return e instanceof VmAgentError && (code === undefined || e.code === code);
}
