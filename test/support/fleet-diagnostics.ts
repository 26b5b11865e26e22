// What a failed drill leaves behind for whoever reads CI's output: the fleet's logs are removed when it stops, so
// the tail of each process's log is printed when a test fails (a timeout included), before the fleet goes.
import fs from 'node:fs';
import path from 'node:path';
import type { Fleet } from './fleet-processes.ts';

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
