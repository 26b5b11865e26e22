/** Stable codes for every error this package raises; callers switch on `code`, never on messages. */
export const StoreErrorCode = {
  /** the request itself is unusable (bad epoch, value that is not JSON, empty scope) */
  InvalidRequest: 'STORE_INVALID_REQUEST',
  /** the store is closed */
  Closed: 'STORE_CLOSED',
  /** the server answered something this client does not understand */
  UnexpectedReply: 'STORE_UNEXPECTED_REPLY',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: StoreErrorCode, message: string, options?: { context?: Record<string, unknown>; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'StoreError';
    this.code = code;
    this.context = options?.context ?? {};
  }
}
