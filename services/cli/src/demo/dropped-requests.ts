import { ClientErrorCode, PlannerClientError } from '../adapters/planner-client.js';

/**
 * Socket-level failures after which a request may simply be sent again: the planner (or a proxy in front of it)
 * closed or reset the connection before answering. A request sent on a keep-alive connection the server is
 * closing at that moment fails this way without the server ever reading it.
 */
const DROPPED_CAUSES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE']);

/** The socket-level code of a failed request (undici puts it on the error's cause), if any. */
function causeCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== undefined && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DROPPED_CAUSES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Whether `err` is a request the planner dropped (connection closed or reset before an answer), as opposed to a
 * planner that answered with an error, timed out, or is not there at all (refused).
 */
export function droppedCause(err: unknown): string | undefined {
  if (!(err instanceof PlannerClientError) || err.code !== ClientErrorCode.Unreachable) return undefined;
  return causeCodeOf(err.cause);
}

export interface RetryDroppedOptions {
  /** sends in all, the first one included; default 4 */
  readonly attempts?: number;
  /** wait before the n-th resend is `baseDelayMs * 2^(n-1)`; default 500 */
  readonly baseDelayMs?: number;
  /** told of every resend, so the output says the request was dropped and sent again */
  readonly say: (text: string) => void;
}

/**
 * Sends an idempotent request (a read, or a write naming what it changes so a second send changes nothing more)
 * again when the planner dropped it, a bounded number of times. Any other failure, and the last drop, is thrown.
 */
export async function retryDropped<T>(what: string, send: () => Promise<T>, options: RetryDroppedOptions): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const cause = droppedCause(err);
      if (cause === undefined || attempt >= attempts) throw err;
      const delayMs = base * 2 ** (attempt - 1);
      options.say(
        `demo operator: the planner dropped ${what} (${cause}); sending it again in ${delayMs} ms (${attempt}/${attempts - 1})`,
      );
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
