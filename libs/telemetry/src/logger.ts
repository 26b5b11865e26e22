import { context as contextApi, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { RolloutIds } from './attributes.js';

export type { Logger } from 'pino';

export interface LoggerFactoryOptions {
  /** `service` field on every line */
  readonly service: string;
  /** default `LOG_LEVEL` from the environment, else `info` */
  readonly level?: string;
  /** default stdout; tests pass a stream to read lines back */
  readonly destination?: DestinationStream;
  /** extra fields on every line (e.g. `instance`) */
  readonly base?: Readonly<Record<string, unknown>>;
}

/**
 * A pino JSON logger. Each line carries the active span's `trace_id`/`span_id` (when there is one), so log
 * lines and traces join, plus whatever rollout ids a child logger was given with `withRolloutIds`.
 */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: options.service, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const sc = trace.getSpanContext(contextApi.active());
      return sc !== undefined && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A child logger whose lines carry the rollout id, wave and cluster (or VM group) given. */
export function withRolloutIds(logger: Logger, ids: RolloutIds): Logger {
  const bindings: Record<string, string | number> = {};
  if (ids.rolloutId !== undefined) bindings.rolloutId = ids.rolloutId;
  if (ids.wave !== undefined) bindings.wave = ids.wave;
  if (ids.cluster !== undefined) bindings.cluster = ids.cluster;
  if (ids.vmGroup !== undefined) bindings.vmGroup = ids.vmGroup;
  return logger.child(bindings);
}

/** A logger that drops everything, for tests and embedded use where the caller does not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
