#!/usr/bin/env node
import { AGENT_USAGE, parseAgentConfig } from './config/agent-config.js';
import { startAgentProcess } from './runtime/agent-process.js';
import { ClusterAgentError } from './errors.js';

/** `meshwave-cluster-agent`: one per cluster. Exits 2 on bad configuration, 1 on a fatal error. */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return;
  }
  let config;
  try {
    config = parseAgentConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`meshwave-cluster-agent: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const agent = await startAgentProcess(config);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`meshwave-cluster-agent: ${signal}, stopping\n`);
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const code = err instanceof ClusterAgentError ? ` [${err.code}]` : '';
  process.stderr.write(`meshwave-cluster-agent: fatal${code}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
