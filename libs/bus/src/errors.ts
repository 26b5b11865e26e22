/** Stable codes for every error this package raises; callers switch on `code`, never on messages. */
export const BusErrorCode = {
  /** `publish` got a message whose data does not satisfy the schema of its type */
  InvalidMessage: 'BUS_INVALID_MESSAGE',
  /** the signing configuration is unusable (no keys, active key missing, short secret) */
  InvalidSigningConfig: 'BUS_INVALID_SIGNING_CONFIG',
  /** publishing failed at the broker */
  PublishFailed: 'BUS_PUBLISH_FAILED',
  /** the bus or subscription is closed */
  Closed: 'BUS_CLOSED',
  /** a handler was abandoned because its subscription closed (the message stays uncommitted) */
  Abandoned: 'BUS_ABANDONED',
  /** a handler said the message can never succeed: no retry, straight to the DLQ */
  HandlerRejected: 'BUS_HANDLER_REJECTED',
  /** a handler met a transient condition: retried until it passes, never sent to the DLQ */
  HandlerRetryable: 'BUS_HANDLER_RETRYABLE',
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

export class BusError extends Error {
  readonly code: BusErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: BusErrorCode, message: string, options?: { context?: Record<string, unknown>; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'BusError';
    this.code = code;
    this.context = options?.context ?? {};
  }
}

/**
 * Thrown by a handler for a message that will never succeed however often it is retried (like
 * controller-runtime's `TerminalError`): the message goes to the DLQ with reason `handler-rejected`.
 */
export class HandlerRejectedError extends BusError {
  readonly retryable = false;

  constructor(message: string, options?: { context?: Record<string, unknown>; cause?: unknown }) {
    super(BusErrorCode.HandlerRejected, message, options);
    this.name = 'HandlerRejectedError';
  }
}

/**
 * A handler's condition that passes on its own (not the leader now, the store unreachable): the message is
 * retried with capped backoff for as long as the subscription holds its partition, never dead-lettered; if the
 * subscription lets the partition go first, the message stays uncommitted and is delivered again.
 */
export class HandlerRetryableError extends BusError {
  readonly retryable = true;

  constructor(message: string, options?: { context?: Record<string, unknown>; cause?: unknown }) {
    super(BusErrorCode.HandlerRetryable, message, options);
    this.name = 'HandlerRetryableError';
  }
}

/** True for errors a handler marked as transient: `HandlerRetryableError`, or any error with `retryable: true`. */
export function isRetryableHandlerError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** True for errors a handler marked as final: `HandlerRejectedError`, or any error with `retryable: false`. */
export function isTerminalHandlerError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}
