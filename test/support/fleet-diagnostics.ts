// What a failed drill leaves behind for whoever reads CI's output: the fleet's logs are removed when it stops, so
// the tail of each process's log is printed when a test fails (a timeout included), before the fleet goes.
import fs from 'node:fs';
import path from 'node:path';
import { ENROLLMENT_TOKEN } from '../integration/vm-bridge/vm-fleet-support.ts';
import { API_TOKEN, type Fleet } from './fleet-processes.ts';
import { secretsIn } from './signing-fleet.ts';

const TAIL_LINES = 30;
const LINE_CHARS = 400;

function tail(file: string): string[] {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return lines.slice(-TAIL_LINES).map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l));
}

/** Prints the last lines of every log in the fleet's directory to stderr. */
export function dumpFleetLogs(fleet: Fleet | undefined, why: string): void {
  if (!fleet || !fs.existsSync(fleet.dir)) return;
  const out: string[] = [`--- fleet ${fleet.id}: ${why}; the last ${TAIL_LINES} lines of each log ---`];
  for (const name of fs.readdirSync(fleet.dir).sort()) {
    const file = path.join(fleet.dir, name);
    if (!name.endsWith('.log') || !fs.statSync(file).isFile()) continue;
    out.push(`=== ${name}`, ...tail(file));
  }
  process.stderr.write(`${out.join('\n')}\n`);
}

/**
 * Issue 20's "never in logs", over a whole e2e run: every fleet's processes (planners, agents, bridge, vm-agents)
 * logged nothing holding a configured secret, the API token, the hosts' enrollment token or any private key.
 * Read before the fleet's directory goes; throws naming each secret found and in which log.
 */
export function expectNoSecretsInLogs(fleet: Fleet | undefined): void {
  if (!fleet || !fs.existsSync(fleet.dir)) return;
  const secrets = Object.fromEntries([
    ['API token', API_TOKEN],
    ['enrollment token', ENROLLMENT_TOKEN],
    ...fleet.signing.secrets.map((pem, i) => [`private key ${i}`, pem]),
  ]);
  const found: string[] = [];
  let read = 0;
  for (const name of fs.readdirSync(fleet.dir).filter((n) => n.endsWith('.log'))) {
    const log = fs.readFileSync(path.join(fleet.dir, name), 'utf8');
    read += log.length;
    for (const s of secretsIn(log, secrets)) found.push(`${s} in ${name}`);
  }
  if (read === 0) throw new Error(`fleet ${fleet.id}: no log to scan for secrets (a scan of nothing proves nothing)`);
  if (found.length > 0) throw new Error(`fleet ${fleet.id}: configured secrets in the logs: ${found.join('; ')}`);
}

/** Stops a fleet after scanning its logs for secrets (the fleet stops whatever the scan finds). */
export async function stopFleetScanningLogs(fleet: Fleet | undefined): Promise<void> {
  try {
    expectNoSecretsInLogs(fleet);
  } finally {
    await fleet?.stop();
  }
}
