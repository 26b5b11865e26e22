// Benchmark: what one registration and one report cost as a VM group grows, in process on the in-memory store
// (no agents, no HTTP): N hosts register one after the other, then 500 reports arrive one after the other; the
// same for 2N. Printed as the ratio of the per-step cost at 2N to that at N, both measured in this run: 1.0 is
// constant per step, 2.0 linear per step (a group's registration then costs O(N²)). Stops by itself.
//   node_modules/.bin/node test/bench/vm-bridge-scale.ts [--hosts 1000]
// Needs a build (`npx tsc -b services/vm-bridge`).
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { AgentPhase } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { VmBridge, hashToken, staticBundleCatalog } from '@meshwave/vm-bridge';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '1000' } } });
const base = Number(values.hosts);
const REPORTS = 500;
const ENROLL = 'bench-enrollment-token';

async function measure(hosts: number): Promise<{ registrationMs: number; reportMs: number }> {
  const bridge = new VmBridge({
    store: createInMemoryStore(),
    catalog: staticBundleCatalog({}),
    groups: [{ name: 'bench', enrollmentTokenSha256: hashToken(ENROLL) }],
    settings: { tickMs: 3_600_000, leaseTtlMs: 7_200_000 },
  });
  await bridge.start();
  const registering = performance.now();
  for (let i = 0; i < hosts; i++) {
    await bridge.registerHost('bench', `Bearer ${ENROLL}`, {
      host: `h${i}`,
      tokenSha256: hashToken(`t${i}`),
      runningVersion: '1-24-5',
    });
  }
  const registrationMs = (performance.now() - registering) / hosts;
  const reporting = performance.now();
  for (let i = 0; i < REPORTS; i++)
    await bridge.report(`h${i % hosts}`, { runningVersion: '1-24-5', healthy: true, phase: AgentPhase.Idle });
  const reportMs = (performance.now() - reporting) / REPORTS;
  await bridge.stop();
  return { registrationMs, reportMs };
}

const small = await measure(base);
const large = await measure(base * 2);
const round = (x: number): number => Number(x.toFixed(3));
console.log(
  JSON.stringify(
    {
      bench: 'vm-bridge group scale',
      hosts: [base, base * 2],
      registrationMs: [round(small.registrationMs), round(large.registrationMs)],
      reportMs: [round(small.reportMs), round(large.reportMs)],
      registrationGrowth: round(large.registrationMs / small.registrationMs),
      reportGrowth: round(large.reportMs / small.reportMs),
    },
    null,
    2,
  ),
);
