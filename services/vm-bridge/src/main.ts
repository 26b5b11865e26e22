#!/usr/bin/env node
// meshwave-vm-bridge: consumes VM group commands, rolls host batches, serves the host API.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createBusFor } from '@meshwave/bus';
import { createStoreFor } from '@meshwave/store';
import { createLogger, startTelemetry } from '@meshwave/telemetry';
import { buildApp } from './http/app.js';
import { BRIDGE_USAGE, bridgeSettingsOf, loadBridgeConfig, readSecret } from './config/bridge-config.js';
import { bundleCatalogFromDirectory, staticBundleCatalog, type BundleCatalog } from './adapters/bundle-catalog.js';
import { isVmBridgeError } from './errors.js';
import { hashToken } from './runtime/host-token.js';
import type { VmGroupConfig } from './config/bridge-settings.js';
import { VmBridge } from './runtime/vm-bridge.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${BRIDGE_USAGE}\n`);
    return;
  }
  const { config, baseDir, backing, signing, loopDelayThresholdMs } = await loadBridgeConfig(argv);
  const logger = createLogger({ service: 'meshwave-vm-bridge' });
  const telemetry = startTelemetry({ serviceName: 'meshwave-vm-bridge' });
  const instance = config.instance ?? `${os.hostname()}-${process.pid}`;

  const groups: VmGroupConfig[] = [];
  for (const g of config.groups) {
    const sha =
      g.enrollmentTokenSha256 ??
      (g.enrollmentToken !== undefined ? hashToken(await readSecret(g.enrollmentToken, baseDir)) : undefined);
    groups.push({
      name: g.name,
      ...(sha !== undefined ? { enrollmentTokenSha256: sha } : {}),
      ...(g.mesh !== undefined ? { mesh: g.mesh } : {}),
    });
  }
  const bundleDir = config.bundleDir !== undefined ? path.resolve(baseDir, config.bundleDir) : undefined;
  const fromDir =
    bundleDir !== undefined ? await bundleCatalogFromDirectory(bundleDir, config.bundleBaseUrl) : undefined;
  const fixed = staticBundleCatalog(config.bundles);
  const catalog: BundleCatalog = { resolve: (v) => fixed.resolve(v) ?? fromDir?.resolve(v) };

  if (backing.mode === 'in-memory')
    logger.warn('in-memory bus and store (--in-memory): no planner outside this process reaches this bridge');
  const bus = createBusFor(backing, {
    source: 'vm-bridge',
    // In memory nothing leaves the process, so a key of its own is enough when none is configured.
    signing: signing ?? { keys: [{ id: 'in-memory', secret: randomBytes(32) }], activeKeyId: 'in-memory' },
    logger,
  });
  const store = createStoreFor(backing);
  const bridge = new VmBridge({
    store,
    bus,
    catalog,
    groups,
    logger,
    tracer: telemetry.tracer('meshwave-vm-bridge'),
    instance,
    settings: {
      ...bridgeSettingsOf(config.settings),
      ...(loopDelayThresholdMs !== undefined ? { loopDelayThresholdMs } : {}),
    },
  });
  const app = await buildApp({
    bridge,
    logger,
    limits: config.http,
    ...(bundleDir !== undefined ? { bundleDir } : {}),
  });
  // Listen first (healthz answers 503 while waiting for the lease), then take the lease.
  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  logger.info({ address, groups: groups.map((g) => g.name), instance }, 'vm-bridge listening');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void (async () => {
      await app.close();
      await bridge.stop();
      await bus.close();
      await store.close();
      await telemetry.shutdown();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await bridge.start();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `meshwave-vm-bridge: ${isVmBridgeError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(2);
});
