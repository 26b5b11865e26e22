// Given the real Prometheus of the test environment: 127.0.0.1 only, 1 s scrapes, tests register their own
// exporters through file-based service discovery, and a restart keeps port and data.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { envCli, loadPrometheusEnv, loadTestEnv } from '../../support/env.ts';
import { IstioExporter } from '../../support/istio-exporter.ts';

interface Target {
  scrapeUrl: string;
  health: string;
}

async function targets(url: string): Promise<Target[]> {
  const res = await fetch(`${url}/api/v1/targets?state=active`);
  return ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('prometheus (Debian package, our own process)', () => {
  it('listens on 127.0.0.1 and scrapes every second', async () => {
    const prometheus = loadPrometheusEnv();
    expect(prometheus.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(prometheus.version).toMatch(/^2\./);
    const res = await fetch(`${prometheus.url}/api/v1/status/config`);
    const yaml = ((await res.json()) as { data: { yaml: string } }).data.yaml;
    expect(yaml).toContain('scrape_interval: 1s');
    expect(yaml).toContain(prometheus.targetsDir);
  });

  it('scrapes an exporter a test registers in targetsDir, and forgets it once the file is removed', async () => {
    const prometheus = loadPrometheusEnv();
    const id = `smoke-${randomBytes(4).toString('hex')}`;
    const exporter = new IstioExporter(prometheus, id, [{ cluster: id, namespace: 'shop', name: 'cart' }], () => ({
      requests: 10,
      errorRatio: 0,
      latencyMs: 5,
    }));
    await exporter.start();
    try {
      await exporter.scraped();
      const mine = await targets(prometheus.url);
      expect(mine.find((t) => t.scrapeUrl === `http://${exporter.url}/metrics`)?.health).toBe('up');
    } finally {
      await exporter.stop();
    }
    await until('the target dropped', async () =>
      (await targets(prometheus.url)).some((t) => t.scrapeUrl === `http://${exporter.url}/metrics`) ? undefined : true,
    );
  });

  it('keeps its port and stored series across a restart', async () => {
    const before = loadPrometheusEnv();
    const id = `smoke-${randomBytes(4).toString('hex')}`;
    const exporter = new IstioExporter(before, id, [{ cluster: id, namespace: 'shop', name: 'cart' }], () => ({
      requests: 10,
      errorRatio: 0,
      latencyMs: 5,
    }));
    await exporter.start();
    await exporter.scraped();
    await exporter.stop();
    await envCli('restart', 'prometheus');
    const after = loadTestEnv().prometheus!;
    expect(after.port).toBe(before.port);
    expect(after.pid).not.toBe(before.pid);
    const query = encodeURIComponent(`count(last_over_time(istio_requests_total{meshwave_test="${id}"}[10m]))`);
    const res = await fetch(`${after.url}/api/v1/query?query=${query}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    expect(Number(body.data.result[0]?.value[1])).toBeGreaterThan(0);
  });
});
