/** Stable codes for the errors the `meshwave` command raises itself; callers switch on `code`. */
export const CliErrorCode = {
  /** the demo's API port is taken by another process */
  PortInUse: 'PORT_IN_USE',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.context = Object.freeze({ ...options.context });
  }
}
