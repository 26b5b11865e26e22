// A /metrics exporter that emits Istio-shaped series the test controls (istio_requests_total and
// istio_request_duration_milliseconds, reporter destination and source), registered with the test env's
// Prometheus through file-based service discovery. Each scrape adds one batch of requests per workload,
// answered with the error ratio and latency the test's behaviour function gives at that moment.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { PrometheusEnv } from './env.js';

export interface IstioWorkload {
  /** value of the `cluster` label (what a federated Prometheus adds) */
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
}

export interface IstioBehaviour {
  /** requests per scrape */
  readonly requests: number;
  /** share answered 503 */
  readonly errorRatio: number;
  /** every request of the batch takes this long */
  readonly latencyMs: number;
}

/** Finer than Istio's default buckets, so p99 resolves to 5 ms. */
export const LATENCY_BUCKETS_MS = [...Array.from({ length: 200 }, (_, i) => (i + 1) * 5), 2500, 5000, 10000];

interface Counters {
  ok: number;
  errors: number;
  /** requests not answered 5xx yet: keeps the error ratio exact across batches */
  errorCarry: number;
  buckets: number[];
  sum: number;
  count: number;
}

function labels(w: IstioWorkload, reporter: string, code: string): string {
  return [
    `reporter="${reporter}"`,
    'source_workload="loadgen"',
    'source_workload_namespace="load"',
    `destination_workload="${w.name}"`,
    `destination_workload_namespace="${w.namespace}"`,
    `destination_service="${w.name}.${w.namespace}.svc.cluster.local"`,
    `destination_cluster="${w.cluster}"`,
    'request_protocol="http"',
    `response_code="${code}"`,
    'connection_security_policy="mutual_tls"',
    `cluster="${w.cluster}"`,
  ].join(',');
}

export class IstioExporter {
  private server: http.Server | undefined;
  private targetFile: string | undefined;
  private readonly counters = new Map<string, Counters>();
  /** scrapes served so far */
  scrapes = 0;

  constructor(
    private readonly prometheus: PrometheusEnv,
    private readonly id: string,
    private readonly workloads: readonly IstioWorkload[],
    /** what a workload does now (e.g. depending on the revision a scripted agent moved it to) */
    public behaviour: (w: IstioWorkload) => IstioBehaviour,
  ) {}

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    return `127.0.0.1:${a?.port ?? 0}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.targetFile = path.join(this.prometheus.targetsDir, `${this.id}.json`);
    const tmp = `${this.targetFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([{ targets: [this.url], labels: { meshwave_test: this.id } }]));
    fs.renameSync(tmp, this.targetFile); // Prometheus never reads half a file
  }

  async stop(): Promise<void> {
    if (this.targetFile) fs.rmSync(this.targetFile, { force: true });
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves once Prometheus has stored a scrape of this exporter (its series are queryable). */
  async scraped(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    const query = `count(istio_requests_total{meshwave_test="${this.id}"})`;
    for (;;) {
      const res = await fetch(`${this.prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`).catch(
        () => undefined,
      );
      const body = (await res?.json().catch(() => undefined)) as { data?: { result?: unknown[] } } | undefined;
      if ((body?.data?.result?.length ?? 0) > 0) return;
      if (Date.now() > end) throw new Error(`Prometheus did not scrape ${this.url} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private render(): string {
    const out: string[] = ['# HELP istio_requests_total Total requests.', '# TYPE istio_requests_total counter'];
    const hist: string[] = [
      '# HELP istio_request_duration_milliseconds Request duration.',
      '# TYPE istio_request_duration_milliseconds histogram',
    ];
    for (const w of this.workloads) {
      const key = `${w.cluster}/${w.namespace}/${w.name}`;
      let c = this.counters.get(key);
      if (c === undefined) {
        c = { ok: 0, errors: 0, errorCarry: 0, buckets: LATENCY_BUCKETS_MS.map(() => 0), sum: 0, count: 0 };
        this.counters.set(key, c);
      }
      const b = this.behaviour(w);
      c.errorCarry += b.requests * b.errorRatio;
      const errors = Math.floor(c.errorCarry);
      c.errorCarry -= errors;
      c.errors += errors;
      c.ok += b.requests - errors;
      LATENCY_BUCKETS_MS.forEach((le, i) => {
        if (b.latencyMs <= le) c.buckets[i]! += b.requests;
      });
      c.sum += b.requests * b.latencyMs;
      c.count += b.requests;
      for (const reporter of ['destination', 'source']) {
        out.push(`istio_requests_total{${labels(w, reporter, '200')}} ${c.ok}`);
        // the source side sees the same requests; only the destination reports carry the errors here, so a
        // query that forgot reporter="destination" would halve the error ratio
        out.push(`istio_requests_total{${labels(w, reporter, '503')}} ${reporter === 'destination' ? c.errors : 0}`);
      }
      const base = labels(w, 'destination', '200');
      LATENCY_BUCKETS_MS.forEach((le, i) =>
        hist.push(`istio_request_duration_milliseconds_bucket{${base},le="${le}"} ${c.buckets[i]}`),
      );
      hist.push(`istio_request_duration_milliseconds_bucket{${base},le="+Inf"} ${c.count}`);
      hist.push(`istio_request_duration_milliseconds_sum{${base}} ${c.sum}`);
      hist.push(`istio_request_duration_milliseconds_count{${base}} ${c.count}`);
    }
    return `${[...out, ...hist].join('\n')}\n`;
  }
}
