// A fleet is ready when every service says so on its documented probe, as Kubernetes would read it: the planner
// leader's /readyz (ready and leading), each cluster-agent's /readyz (200 `leader`: its converge loop started, its
// commands subscription joined) and the vm-bridge's /healthz (lease held, commands consumed). A halt sent to a
// ready fleet is taken at once by every target.
import { eventually } from './eventually.ts';
import { waitForLeader } from './fleet-api.ts';
import type { Fleet } from './fleet-processes.ts';
import type { ServiceProcess } from './service-process.ts';

/** The address a process logged last under `msg` (its `address`, or `http://127.0.0.1:<port>`). */
function addressOf(p: ServiceProcess, msg: string): string | undefined {
  const line = p.messages(msg).at(-1);
  if (typeof line?.['address'] === 'string') return line['address'];
  return typeof line?.['port'] === 'number' ? `http://127.0.0.1:${line['port']}` : undefined;
}

async function answers(url: string, ok: (status: number, body: string) => boolean): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return ok(res.status, await res.text());
  } catch {
    return false; // not listening yet
  }
}

/** Waits until the planner leads and every cluster-agent and the vm-bridge report themselves ready. */
export async function waitForFleetReady(fleet: Fleet, timeoutMs = 120_000): Promise<void> {
  await waitForLeader(fleet, undefined, timeoutMs);
  for (const agent of fleet.agents.values())
    await eventually(
      `${agent.name}: /readyz answers 200 leader`,
      async () => {
        const probes = addressOf(agent, 'probes listening');
        return probes !== undefined && (await answers(`${probes}/readyz`, (s, b) => s === 200 && b === 'leader'));
      },
      { timeoutMs, alive: () => agent.alive() },
    );
  await eventually(
    'vm-bridge: /healthz answers 200',
    async () => {
      const bridge = addressOf(fleet.bridge, 'vm-bridge listening');
      return bridge !== undefined && (await answers(`${bridge}/healthz`, (s) => s === 200));
    },
    { timeoutMs, alive: () => fleet.bridge.alive() },
  );
}
