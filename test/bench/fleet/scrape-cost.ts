// What the fleet benchmark's own Prometheus (ADR 0065) costs at a fleet's size and a scrape interval, without the
// rest of the fleet: an exporter of the simulator's series shape (per workload 2 request counters and the latency
// buckets: all 9, or the 3 the simulator's p99s need; one target per cluster), scraped for a while; then Prometheus's CPU, the scrapes' durations, and how long
// the gate's requests query over most of the fleet's clusters takes.
//   node_modules/.bin/node test/bench/fleet/scrape-cost.ts [--clusters 50] [--workloads 2000] [--interval 5]
//     [--seconds 60] [--buckets needed|all]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_SIMULATED_MESH_METRICS, LATENCY_BUCKETS_MS, neededLatencyBuckets } from '@meshwave/cli';
import { startBenchPrometheus } from './bench-prometheus.ts';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '50' },
    workloads: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '60' },
    buckets: { type: 'string', default: 'needed' },
  },
});
const clusters = Number(values.clusters);
const perCluster = Number(values.workloads);
const interval = Number(values.interval);
const namespaces = Math.ceil(perCluster / 500);
/** the latency bounds exposed: Istio's all, or those the simulator's p99s need (as the bench's simulator does) */
const bounds =
  values.buckets === 'all'
    ? LATENCY_BUCKETS_MS
    : neededLatencyBuckets(DEFAULT_SIMULATED_MESH_METRICS).map((i) => LATENCY_BUCKETS_MS[i]!);
const names = Array.from({ length: clusters }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);

/** one cluster's exposition, counters growing with time as the simulator's do */
function render(cluster: string, now: number): string {
  const n = Math.floor(now / 100);
  const requests = ['# TYPE istio_requests_total counter'];
  const latency = ['# TYPE istio_request_duration_milliseconds histogram'];
  for (let w = 0; w < perCluster; w++) {
    const ns = `team-${String((w % namespaces) + 1).padStart(2, '0')}`;
    const base = `reporter="destination",cluster="${cluster}",destination_workload_namespace="${ns}",destination_workload="w-${w}"`;
    requests.push(`istio_requests_total{${base},response_code="200"} ${n * 10 + w}`);
    requests.push(`istio_requests_total{${base},response_code="503"} ${Math.floor(n / 100)}`);
    bounds.forEach((le, i) =>
      latency.push(`istio_request_duration_milliseconds_bucket{${base},le="${le}"} ${i < 3 ? n : n * 10 + w}`),
    );
    latency.push(`istio_request_duration_milliseconds_bucket{${base},le="+Inf"} ${n * 10 + w}`);
  }
  return `${requests.join('\n')}\n${latency.join('\n')}\n`;
}

let renderMs = 0;
const server = http.createServer((req, res) => {
  const cluster = /^\/metrics\/([^/]+)$/.exec(req.url ?? '')?.[1] ?? '';
  const t = performance.now();
  const text = render(cluster, Date.now());
  renderMs += performance.now() - t;
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address() as AddressInfo;

const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const query = async (url: string, q: string): Promise<{ ms: number; result: { value: [number, string] }[] }> => {
  const t = performance.now();
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query: q }),
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await res.json()) as { data?: { result: { value: [number, string] }[] }; error?: string };
  if (body.data === undefined) throw new Error(body.error ?? `HTTP ${res.status}`);
  return { ms: performance.now() - t, result: body.data.result };
};

const prometheus = await startBenchPrometheus({ scrapeIntervalSeconds: interval });
try {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    `${prometheus.state.targetsDir}/cost.json`,
    JSON.stringify(
      names.map((c) => ({ targets: [`127.0.0.1:${port}`], labels: { __metrics_path__: `/metrics/${c}`, target: c } })),
    ),
  );
  const cpu0 = cpuSeconds(prometheus.state.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(prometheus.state.pid) - cpu0;
  const url = prometheus.state.url;
  const scrape = await query(url, 'max(max_over_time(scrape_duration_seconds[1m]))');
  const avgScrape = await query(url, 'avg(avg_over_time(scrape_duration_seconds[1m]))');
  const series = await query(url, 'prometheus_tsdb_head_series');
  const window = 2 * interval;
  const prod = names.slice(Math.max(1, Math.round(clusters / 10))).join('|');
  const ns = Array.from({ length: namespaces }, (_, i) => `team-${String(i + 1).padStart(2, '0')}`).join('|');
  const sel = `reporter="destination",destination_workload_namespace=~"${ns}",cluster=~"${prod}"`;
  const by = 'cluster,destination_workload_namespace,destination_workload';
  const req = await query(url, `sum by (${by}) (increase(istio_requests_total{${sel}}[${window}s]))`);
  const p99 = await query(
    url,
    `histogram_quantile(0.99, sum by (${by},le) (rate(istio_request_duration_milliseconds_bucket{${sel},destination_workload=~"w-1|w-2|w-3"}[${window}s])))`,
  );
  const rss = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${prometheus.state.pid}/status`, 'utf8'))?.[1];
  console.log(
    JSON.stringify({
      clusters,
      perCluster,
      interval,
      buckets: values.buckets,
      seconds: Math.round(wall),
      prometheusCores: +(cpu / wall).toFixed(2),
      prometheusPeakRssMb: Math.round(Number(rss) / 1024),
      headSeries: Number(series.result[0]?.value[1]),
      scrapeMaxS: Number(scrape.result[0]?.value[1]),
      scrapeAvgS: Number(avgScrape.result[0]?.value[1]),
      exporterRenderCores: +(renderMs / 1000 / wall).toFixed(2),
      requestsQuery: { ms: Math.round(req.ms), series: req.result.length, windowS: window },
      p99Query: { ms: Math.round(p99.ms), series: p99.result.length },
      load: readFileSync('/proc/loadavg', 'utf8').trim(),
    }),
  );
} finally {
  await prometheus.stop();
  server.close();
}
