/** Stable codes for the errors this package raises. */
export const TelemetryErrorCode = {
  InvalidConfig: 'TELEMETRY_INVALID_CONFIG',
} as const;
export type TelemetryErrorCode = (typeof TelemetryErrorCode)[keyof typeof TelemetryErrorCode];

export class TelemetryError extends Error {
  readonly code: TelemetryErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: TelemetryErrorCode,
    message: string,
    options?: { context?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'TelemetryError';
    this.code = code;
    this.context = options?.context ?? {};
  }
}
