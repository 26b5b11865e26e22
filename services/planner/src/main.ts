#!/usr/bin/env node
// The planner as a service: configuration from the environment, OpenTelemetry, then the service (bus, store,
// engine, HTTP API); a failed start exits non-zero.
import { createLogger, startTelemetry } from '@meshwave/telemetry';
import { PLANNER_USAGE, readPlannerEnv } from './config/env-config.js';
import { startFailureExitCode, startPlannerService } from './runtime/planner-service.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${PLANNER_USAGE}\n`);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`meshwave-planner: unexpected arguments: ${args.join(' ')}\n${PLANNER_USAGE}\n`);
  process.exit(2);
}

const telemetry = startTelemetry({ serviceName: 'meshwave-planner' });
const logger = createLogger({ service: 'planner' });

async function main(): Promise<void> {
  const config = readPlannerEnv(process.env);
  const service = await startPlannerService(config, logger);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await service.stop();
    await telemetry.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const code = startFailureExitCode(error);
  // Configuration: one line per problem, for the person reading `kubectl logs`; exit 2 as the other services.
  if (code === 2) process.stderr.write(`meshwave-planner: ${(error as Error).message}\n`);
  else logger.fatal({ err: error }, 'planner failed to start');
  process.exit(code);
});
