import { silentLogger, type Logger } from '@meshwave/telemetry';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { VmBridge } from '../runtime/vm-bridge.js';
import { errorHandler, frameworkError } from './error-handler.js';
import { HostApiLimits, serverOptionsOf } from './http-limits.js';
import { registerBundleRoutes } from './routes/bundles.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerHostRoutes } from './routes/hosts.js';

export interface BuildAppOptions {
  readonly bridge: VmBridge;
  readonly logger?: Logger;
  /** serve the `<version>.tar.gz` bundles of this directory at /v1/bundles/ (hosts verify their sha256) */
  readonly bundleDir?: string;
  /** body limit and timeouts; defaults for what is not given */
  readonly limits?: z.input<typeof HostApiLimits>;
}

/**
 * The vm-bridge HTTP API for hosts (desired-version long poll, reports, enrollment) plus /metrics and
 * /healthz. Built apart from `listen` so tests drive it with `inject()`.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { bridge } = options;
  // Requests are not logged one by one (hundreds of hosts long-poll); failures are, by the error handler.
  const log = (options.logger ?? silentLogger()).child({ component: 'vm-bridge-http' });
  const app = Fastify({
    logger: false,
    ...serverOptionsOf(HostApiLimits.parse(options.limits ?? {})),
    frameworkErrors: frameworkError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler(log));
  registerHostRoutes(app, bridge);
  if (options.bundleDir !== undefined) registerBundleRoutes(app, options.bundleDir);
  registerHealthRoutes(app, bridge);
  await app.ready();
  return app;
}
