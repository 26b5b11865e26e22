// Loaded into the planner with `--import` by the fleet bench's `--memory-log` (process mode, issue 15): every
// MESHWAVE_BENCH_MEMORY_EVERY_MS (default 250) it appends one JSON line to MESHWAVE_BENCH_MEMORY_LOG with
// `process.memoryUsage()` and each V8 heap space's size and use (MB), stamped with the wall clock (ms). A line that
// comes late says the loop was busy then; the bench's /proc samples see the same moments from outside.
import { openSync, writeSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.MESHWAVE_BENCH_MEMORY_LOG;
const everyMs = Number(process.env.MESHWAVE_BENCH_MEMORY_EVERY_MS ?? 250);
const mb = (bytes: number): number => Math.round(bytes / 104_857.6) / 10;

if (file !== undefined && file !== '') {
  const fd = openSync(file, 'a');
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const spaces: Record<string, [number, number]> = {};
    for (const s of getHeapSpaceStatistics())
      spaces[s.space_name.replace(/_space$/, '')] = [mb(s.space_size), mb(s.space_used_size)];
    const line = {
      t: Date.now(),
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      spaces,
    };
    writeSync(fd, `${JSON.stringify(line)}\n`);
  }, everyMs);
  timer.unref();
}
