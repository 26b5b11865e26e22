#!/usr/bin/env node
// meshwave-vm-bridge: consumes VM group commands, rolls host batches, serves the host API.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInMemoryBus, createKafkaBus, type EventBus } from '@meshwave/bus';
import { createInMemoryStore, createRedisStore, type StateStore } from '@meshwave/store';
import { createLogger, startTelemetry } from '@meshwave/telemetry';
import { buildApp } from './app.js';
import { loadBridgeConfig, readSecret } from './bridge-config.js';
import { bundleCatalogFromDirectory, staticBundleCatalog, type BundleCatalog } from './bundle-catalog.js';
import { VmBridgeError, VmBridgeErrorCode, isVmBridgeError } from './errors.js';
import { hashToken } from './host-token.js';
import { VmBridge, type VmGroupConfig } from './vm-bridge.js';

function createStore(kind: 'redis' | 'memory', url: string | undefined): StateStore {
  return kind === 'redis' ? createRedisStore({ url: url ?? '' }) : createInMemoryStore();
}

async function main(): Promise<void> {
  const { config, baseDir } = await loadBridgeConfig(process.argv.slice(2));
  const logger = createLogger({ service: 'meshwave-vm-bridge' });
  const telemetry = startTelemetry({ serviceName: 'meshwave-vm-bridge' });
  const instance = config.instance ?? `${os.hostname()}-${process.pid}`;

  const groups: VmGroupConfig[] = [];
  for (const g of config.groups) {
    const sha =
      g.enrollmentTokenSha256 ??
      (g.enrollmentToken !== undefined ? hashToken(await readSecret(g.enrollmentToken, baseDir)) : undefined);
    groups.push({ name: g.name, ...(sha !== undefined ? { enrollmentTokenSha256: sha } : {}) });
  }
  const bundleDir = config.bundleDir !== undefined ? path.resolve(baseDir, config.bundleDir) : undefined;
  const fromDir =
    bundleDir !== undefined ? await bundleCatalogFromDirectory(bundleDir, config.bundleBaseUrl) : undefined;
  const fixed = staticBundleCatalog(config.bundles);
  const catalog: BundleCatalog = { resolve: (v) => fixed.resolve(v) ?? fromDir?.resolve(v) };

  let bus: EventBus | undefined;
  if (config.signing !== undefined) {
    const keys = await Promise.all(
      config.signing.keys.map(async (k) => ({ id: k.id, secret: await readSecret(k.secret, baseDir) })),
    );
    if (config.signing.keysFile !== undefined) {
      const file = path.resolve(baseDir, config.signing.keysFile);
      keys.push(...(JSON.parse(await fs.readFile(file, 'utf8')) as { id: string; secret: string }[]));
    }
    const busOptions = { source: 'vm-bridge', signing: { keys, activeKeyId: config.signing.activeKeyId }, logger };
    bus =
      config.bus.kind === 'kafka'
        ? createKafkaBus({
            ...busOptions,
            brokers: config.bus.brokers,
            ...(config.bus.clientId !== undefined ? { clientId: config.bus.clientId } : {}),
          })
        : createInMemoryBus(busOptions);
  } else if (config.bus.kind === 'kafka') {
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, 'signing: the Kafka bus needs the fleet signing keys');
  }
  const redisUrl =
    config.store.kind === 'redis'
      ? (config.store.url ?? (config.store.urlEnv !== undefined ? process.env[config.store.urlEnv] : undefined))
      : undefined;
  if (config.store.kind === 'redis' && redisUrl === undefined) {
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, 'store: a Redis store needs url or urlEnv (set)');
  }
  const store = createStore(config.store.kind, redisUrl);
  const s = config.settings;
  const bridge = new VmBridge({
    store,
    ...(bus !== undefined ? { bus } : {}),
    catalog,
    groups,
    logger,
    tracer: telemetry.tracer('meshwave-vm-bridge'),
    instance,
    settings: {
      ...(s.batchTimeoutSeconds !== undefined ? { batchTimeoutMs: s.batchTimeoutSeconds * 1000 } : {}),
      ...(s.reportStaleSeconds !== undefined ? { reportStaleMs: s.reportStaleSeconds * 1000 } : {}),
      ...(s.leaseTtlSeconds !== undefined ? { leaseTtlMs: s.leaseTtlSeconds * 1000 } : {}),
      ...(s.tickMs !== undefined ? { tickMs: s.tickMs } : {}),
      ...(s.maxLongPollSeconds !== undefined ? { maxLongPollMs: s.maxLongPollSeconds * 1000 } : {}),
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
      await bus?.close();
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
