// Local ports for servers the tests and the test environment start.
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

/**
 * The kernel's ephemeral range, from which every `listen(0)` (a planner started with `MESHWAVE_PORT=0`) draws.
 * A port handed out here lies below it: a port picked now and bound by a child process later can then never be
 * taken meanwhile by another process's `listen(0)` (the drills once lost an agent to EADDRINUSE that way).
 */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768; // not Linux: its usual range starts at 49152, so this stays below it too
  }
}

const FLOOR = 10_000;
const CEILING = ephemeralLow();
const handedOut = new Set<number>();

/** A port below the ephemeral range that was free on 127.0.0.1 a moment ago and not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = FLOOR + randomInt(CEILING - FLOOR);
    if (handedOut.has(port) || !(await portsFree([port]))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${FLOOR} and ${CEILING}`);
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** True when every port can be bound on 127.0.0.1 right now. */
export async function portsFree(ports: readonly number[]): Promise<boolean> {
  for (const p of ports) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}
