let installed = false;

/**
 * kafkajs 2.2.4 (its last release) schedules a timer with a negative delay in its request queue when nothing
 * is throttled (tulios/kafkajs#1751). Node clamps the delay to 1 ms, as older Node did silently, but Node 24
 * also emits `TimeoutNegativeWarning` on every client connection, which would reach operators as noise. The
 * behaviour is correct, so exactly that warning is dropped, and only when kafkajs's request queue raised it;
 * every other warning, including other negative timeouts, still reaches Node's handler.
 */
export function suppressKafkaJsTimeoutNegativeWarning(): void {
  if (installed) return;
  installed = true;
  const original = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const first = rest[0];
    const type = typeof first === 'string' ? first : (first as { type?: string } | undefined)?.type;
    const name = warning instanceof Error ? warning.name : type;
    if (
      name === 'TimeoutNegativeWarning' &&
      /kafkajs[\\/]src[\\/]network[\\/]requestQueue/.test(new Error().stack ?? '')
    )
      return;
    original(warning, ...rest);
  }) as typeof process.emitWarning;
}
