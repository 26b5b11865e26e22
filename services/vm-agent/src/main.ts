#!/usr/bin/env node
// meshwave-vm-agent: the host daemon (see runtime/vm-agent.ts). Config file + flags, JSON logs on stdout.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createAgentLogger } from './runtime/agent-logger.js';
import { isVmAgentError } from './errors.js';
import { hashToken, newHostToken } from './runtime/host-token.js';
import { exists, writeFileAtomic } from './adapters/atomic-file.js';
import { AGENT_USAGE, loadAgentConfig } from './config/agent-config.js';
import { HttpBridgeClient } from './adapters/bridge-client.js';
import {
  ChildProcessProxyRunner,
  HttpReadinessProbe,
  SystemdProxyRunner,
  type ProxyRunner,
} from './adapters/proxy-runner.js';
import type { AgentStep } from './runtime/agent-settings.js';
import { VmAgent } from './runtime/vm-agent.js';

/** Fault injection for tests: `MESHWAVE_VM_AGENT_CRASH_AT=<step>` kills the agent (SIGKILL) right after that step. */
const CRASH_AT = process.env.MESHWAVE_VM_AGENT_CRASH_AT;

async function readOrCreateToken(file: string): Promise<string> {
  if (await exists(file)) return (await fs.readFile(file, 'utf8')).trim();
  const token = newHostToken();
  await writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}

/**
 * Spans leave the host only when an OTLP exporter is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`, or
 * `..._TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER`) and `OTEL_SDK_DISABLED` is not true: only then is the
 * OpenTelemetry SDK loaded (it costs a host daemon most of its start-up time; see agent-logger.ts).
 */
async function startTracing(env: NodeJS.ProcessEnv): Promise<(() => Promise<void>) | undefined> {
  const set = (name: string): boolean => (env[name]?.trim() ?? '') !== '';
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporting =
    set('OTEL_EXPORTER_OTLP_ENDPOINT') ||
    set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ||
    (set('OTEL_TRACES_EXPORTER') && env.OTEL_TRACES_EXPORTER?.trim() !== 'none');
  if (!exporting) return undefined;
  const { startTelemetry } = await import('@meshwave/telemetry');
  const telemetry = startTelemetry({ serviceName: 'meshwave-vm-agent' });
  return () => telemetry.shutdown();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return;
  }
  const config = await loadAgentConfig(argv);
  const logger = createAgentLogger({ host: config.host, group: config.group });
  const stopTracing = await startTracing(process.env);
  await fs.mkdir(config.stateDir, { recursive: true });
  const token = await readOrCreateToken(config.tokenFile ?? path.join(config.stateDir, 'host-token'));
  const enrollmentToken =
    process.env.MESHWAVE_ENROLLMENT_TOKEN ??
    (config.enrollmentTokenFile !== undefined
      ? (await fs.readFile(config.enrollmentTokenFile, 'utf8')).trim()
      : undefined);
  const client = new HttpBridgeClient({
    bridgeUrl: config.bridgeUrl,
    host: config.host,
    group: config.group,
    token,
    tokenSha256: hashToken(token),
    ...(enrollmentToken !== undefined ? { enrollmentToken } : {}),
  });
  const runner: ProxyRunner =
    config.proxy.runner === 'systemd'
      ? new SystemdProxyRunner(config.proxy.systemdUnit)
      : new ChildProcessProxyRunner({
          stateDir: config.stateDir,
          command: config.proxy.command,
          args: config.proxy.args,
          env: config.proxy.env,
          logger,
          ...(config.proxy.logFile !== undefined ? { logFile: config.proxy.logFile } : {}),
        });
  const agent = new VmAgent({
    host: config.host,
    stateDir: config.stateDir,
    client,
    runner,
    probe: new HttpReadinessProbe(config.readinessUrl),
    logger,
    settings: {
      pollWaitSeconds: config.pollWaitSeconds,
      reportIntervalMs: config.reportIntervalSeconds * 1000,
      readinessTimeoutMs: config.readinessTimeoutSeconds * 1000,
      readinessIntervalMs: config.readinessIntervalMs,
      keepVersions: config.keepVersions,
      downloadTimeoutMs: config.downloadTimeoutSeconds * 1000,
    },
    onStep: (step: AgentStep) => {
      if (step === CRASH_AT) {
        logger.warn({ step }, 'crash injected');
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping; the proxy keeps running');
    if (runner instanceof ChildProcessProxyRunner) runner.detach();
    void agent
      .stop()
      .then(() => stopTracing?.())
      .catch(() => undefined) // spans that cannot be flushed now are lost; the agent still stops
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await agent.start();
}

main().catch((error: unknown) => {
  if (isVmAgentError(error)) process.stderr.write(`meshwave-vm-agent: ${error.message}\n`);
  else
    process.stderr.write(
      `meshwave-vm-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  process.exit(2);
});
