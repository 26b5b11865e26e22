import { pino, type Logger } from 'pino';

// The agent logs with pino directly rather than through @meshwave/telemetry: that package loads the
// OpenTelemetry SDK, which costs a host daemon most of its start-up time for spans it never makes. The
// line format is the same (ISO time, level label, `service`).

export type { Logger } from 'pino';

export function createAgentLogger(base: Readonly<Record<string, unknown>>): Logger {
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'meshwave-vm-agent', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

export function silentAgentLogger(): Logger {
  return pino({ level: 'silent' });
}
