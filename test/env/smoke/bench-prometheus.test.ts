// The fleet benchmark's own Prometheus (ADR 0065): started with the test env's pieces in a temporary directory of
// its own, scraping at the interval the benchmark asks, never in the test env's directory, and gone (process and
// directory) once stopped, or once the benchmark's process ends however it ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pidAlive, stateDir } from '../lib/common.ts';
import { prometheusConfig } from '../lib/prometheus.ts';
import { BENCH_PROMETHEUS_PREFIX, startBenchPrometheus } from '../../bench/fleet/bench-prometheus.ts';
import {
  benchFleetConfig,
  DEFAULT_SCRAPE_INTERVAL_SECONDS,
  FLEETS,
  processModeConfig,
  scrapeIntervalOf,
} from '../../bench/fleet/fleet-files.ts';
import { scrapeAnswers } from '../../bench/fleet/scrape-answers.ts';
import { eventually } from '../../support/eventually.ts';

const NODE = process.execPath;
const STARTER = fileURLToPath(new URL('./fixtures/start-bench-prometheus.ts', import.meta.url));

async function activeConfig(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/status/config`);
  return ((await res.json()) as { data: { yaml: string } }).data.yaml;
}

describe("the fleet benchmark's own Prometheus", () => {
  const parents: string[] = [];
  afterEach(() => {
    for (const p of parents.splice(0)) fs.rmSync(p, { recursive: true, force: true });
  });
  function parent(): string {
    const p = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-bench-prom-test-'));
    parents.push(p);
    return p;
  }

  it('given an interval, then it runs in a directory of its own with that scrape config, and stop() removes both', async () => {
    const where = parent();
    const prometheus = await startBenchPrometheus({ scrapeIntervalSeconds: 7, parent: where });
    try {
      expect(path.dirname(prometheus.dir)).toBe(where);
      expect(path.basename(prometheus.dir).startsWith(BENCH_PROMETHEUS_PREFIX)).toBe(true);
      for (const p of [prometheus.state.dataDir, prometheus.state.targetsDir, prometheus.state.configFile])
        expect(p.startsWith(`${prometheus.dir}${path.sep}`)).toBe(true);
      expect(prometheus.dir.startsWith(stateDir())).toBe(false);
      const yaml = await activeConfig(prometheus.state.url);
      expect(yaml).toContain('scrape_interval: 7s');
      expect(yaml).toContain('scrape_timeout: 7s');
      expect(yaml).toContain(prometheus.state.targetsDir);
      expect(fs.readdirSync(prometheus.state.dataDir)).toContain('wal');
    } finally {
      await prometheus.stop();
    }
    expect(pidAlive(prometheus.state.pid)).toBe(false);
    expect(fs.existsSync(prometheus.dir)).toBe(false);
    await prometheus.stop(); // a second stop is harmless
  });

  it('given the benchmark is interrupted (SIGINT), then its Prometheus and directory are gone with it', async () => {
    const where = parent();
    const child = spawn(NODE, [STARTER, where], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    const line = await eventually('the benchmark Prometheus started', () => /^(\{.*\})$/m.exec(out)?.[1], {
      timeoutMs: 90_000,
      alive: () => child.exitCode === null,
    });
    const started = JSON.parse(line) as { pid: number; dir: string };
    expect(pidAlive(started.pid)).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await eventually('the Prometheus gone', () => !pidAlive(started.pid), 30_000);
    expect(fs.existsSync(started.dir)).toBe(false);
    expect(fs.readdirSync(where)).toEqual([]);
  });

  it('given a scrape timeout above the interval, then no config is written', () => {
    expect(() => prometheusConfig({ targetsDir: '/t', scrapeIntervalSeconds: 2, scrapeTimeoutSeconds: 3 })).toThrow(
      RangeError,
    );
  });
});

describe("the process mode's scrape interval and soaks", () => {
  it('given fleet (a), then it is scraped every 2 s with the demo soaks, as before', () => {
    const a = benchFleetConfig(FLEETS.a!);
    expect(scrapeIntervalOf(a)).toBe(DEFAULT_SCRAPE_INTERVAL_SECONDS);
    expect(processModeConfig(a)).toBe(a);
  });

  it('given fleet (b), then it is scraped less often and each soak holds two scrapes', () => {
    const b = benchFleetConfig(FLEETS.b!);
    const interval = scrapeIntervalOf(b);
    expect(interval).toBe(10);
    const process = processModeConfig(b);
    expect(process.timing.soakSeconds).toBeGreaterThanOrEqual(2 * interval);
    expect({ ...process, timing: { ...process.timing, soakSeconds: b.timing.soakSeconds } }).toEqual(b);
  });
});

describe("the fleet simulator's answers to scrapes", () => {
  function counted(): { renders: string[]; answer: ReturnType<typeof scrapeAnswers>; at: (ms: number) => void } {
    let now = 100_000;
    const renders: string[] = [];
    const answer = scrapeAnswers(
      (cluster, ms) => {
        renders.push(`${cluster}@${ms}`);
        return `${cluster}@${ms}`;
      },
      () => now,
    );
    return { renders, answer, at: (ms) => void (now = ms) };
  }

  it('given a scrape each interval, then each gets a fresh rendering', () => {
    const s = counted();
    expect(s.answer('c1', { timeoutSeconds: 10, clientGone: false })).toBe('c1@100000');
    s.at(110_000);
    expect(s.answer('c1', { timeoutSeconds: 10, clientGone: false })).toBe('c1@110000');
    expect(s.answer('c2', { timeoutSeconds: 10, clientGone: false })).toBe('c2@110000');
    expect(s.renders).toEqual(['c1@100000', 'c1@110000', 'c2@110000']);
  });

  it('given a backlog of scrapes (abandoned, or queued within half a timeout), then the cluster is not rendered again', () => {
    const s = counted();
    s.answer('c1', { timeoutSeconds: 10, clientGone: false });
    s.at(104_000);
    expect(s.answer('c1', { timeoutSeconds: 10, clientGone: false })).toBe('c1@100000');
    s.at(130_000);
    expect(s.answer('c1', { timeoutSeconds: 10, clientGone: true })).toBe('c1@100000');
    expect(s.renders).toEqual(['c1@100000']);
  });
});
