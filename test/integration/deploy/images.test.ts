// The images of deploy/docker, built without a Docker engine (there is none here, nor in CI): each Dockerfile's
// steps carried out on the build context (image-build.ts), then the image's ENTRYPOINT started with Node 24 alone,
// as `--help` and with the arguments its Helm chart gives the container. A Dockerfile step that breaks breaks
// this test (ADR 0029). Then the vm-agent's release tarball, unpacked as its systemd unit expects it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instructionsOf, parseDockerfile, parseLabels, type Dockerfile } from '../../support/dockerfile.js';
import { loadHelmEnv, loadTestEnv } from '../../support/env.js';
import { REQUIRED, podSpecOf, renderChart, type ChartName, type Container } from '../../support/helm-chart.js';
import { buildImage, entrypointCommand, repoRoot } from './image-build.js';

const SERVICES = ['planner', 'cluster-agent', 'vm-bridge'] as const;
type Service = (typeof SERVICES)[number];

/** Decided in ADR 0029: what an image bundle (the image's /app) may weigh at most. */
const BUNDLE_CEILING_BYTES = 100e6;
const OCI_LABELS = ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses'].map(
  (l) => `org.opencontainers.image.${l}`,
);

let workspace: string;
const dockerfiles = new Map<Service, Dockerfile>();
const images = new Map<Service, string>();

const bytesOf = (dir: string): number =>
  fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);

beforeAll(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-images-'));
  for (const service of SERVICES) {
    const dockerfile = parseDockerfile(
      fs.readFileSync(path.join(repoRoot, 'deploy/docker', `${service}.Dockerfile`), 'utf8'),
    );
    dockerfiles.set(service, dockerfile);
    images.set(service, buildImage(dockerfile, workspace, service).get(String(dockerfile.stages.length - 1))!);
  }
}, 900_000);

afterAll(() => {
  fs.rmSync(workspace, { recursive: true, force: true });
});

const finalStage = (service: Service) => dockerfiles.get(service)!.stages.at(-1)!;

/** Starts the image's ENTRYPOINT with `args`, as a container would: nothing but Node 24 and the image's files. */
function startImage(
  service: Service,
  args: readonly string[],
): { status: number | null; stdout: string; stderr: string } {
  const entry = entrypointCommand(finalStage(service), images.get(service)!);
  const result = spawnSync(entry.command, [...entry.args, ...args], {
    cwd: entry.cwd,
    env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production' },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function chartContainer(service: Service): Container {
  const chart = `meshwave-${service}` as ChartName;
  const cluster = loadTestEnv({ needClusters: 1 }).clusters[0]!;
  const deployment = renderChart(loadHelmEnv(), cluster, chart, REQUIRED[chart]).find((m) => m.kind === 'Deployment')!;
  return podSpecOf(deployment).containers[0]!;
}

describe.each(SERVICES)('the %s image', (service) => {
  it('Then it is built FROM Node 24 slim in both stages, has the OCI labels, runs as a numeric non-root user, and has no HEALTHCHECK', () => {
    const dockerfile = dockerfiles.get(service)!;
    expect(dockerfile.stages).toHaveLength(2);
    for (const stage of dockerfile.stages) expect(stage.image).toMatch(/^node:24(\.\d+)*-(bookworm-|trixie-)?slim$/);
    const stage = finalStage(service);
    const labels = Object.assign({}, ...instructionsOf(stage, 'LABEL').map(parseLabels)) as Record<string, string>;
    for (const label of OCI_LABELS) expect(labels[label], label).toBeTruthy();
    expect(labels['org.opencontainers.image.title']).toBe(`meshwave-${service}`);
    expect(instructionsOf(stage, 'USER')).toEqual([expect.stringMatching(/^[1-9]\d*(:[1-9]\d*)?$/)]);
    for (const s of dockerfile.stages) expect(instructionsOf(s, 'HEALTHCHECK')).toEqual([]);
  });

  it('When its ENTRYPOINT starts with --help, Then the service answers with its usage: every module it loads is in the image', () => {
    const result = startImage(service, ['--help']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: meshwave-${service}`));
  });

  it("When its ENTRYPOINT starts with the arguments of its chart's container, Then the service accepts them and stops only at the missing connection settings", () => {
    const container = chartContainer(service);
    expect(container.command, 'the chart must not override the ENTRYPOINT').toBeUndefined();
    const result = startImage(service, container.args ?? []);
    expect(result.stderr).toMatch(/MESHWAVE_KAFKA_BROKERS: missing/);
    expect(result.status).toBe(2);
  });

  it("Then it exposes the chart's container ports, and holds no dev dependency and no more than the ceiling", () => {
    const exposed = instructionsOf(finalStage(service), 'EXPOSE').flatMap((e) => e.split(/\s+/).map(Number));
    for (const port of chartContainer(service).ports ?? []) expect(exposed).toContain(port.containerPort);
    const app = path.join(images.get(service)!, 'app');
    for (const dev of ['typescript', 'vitest', 'eslint', 'node'])
      expect(fs.existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    expect(bytesOf(app)).toBeLessThan(BUNDLE_CEILING_BYTES);
  });
});

describe('the vm-agent release', () => {
  it('Given `npm run bundle -- vm-agent`, When its tarball is unpacked, Then the systemd unit it carries starts the agent with the Node it carries', () => {
    const out = path.join(workspace, 'release');
    const bundle = spawnSync(process.execPath, ['scripts/bundle.ts', '--out', out, 'vm-agent'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    expect(bundle.status).toBe(0);
    const tarball = fs.readdirSync(out).find((f) => f.endsWith('.tar.gz'));
    expect(tarball).toBe(`meshwave-vm-agent-0.1.0-${process.platform}-${process.arch}.tar.gz`);
    const opt = path.join(workspace, 'opt');
    fs.mkdirSync(opt);
    expect(spawnSync('tar', ['-xzf', path.join(out, tarball!), '-C', opt]).status).toBe(0);
    const unit = fs.readFileSync(path.join(opt, 'meshwave-vm-agent/systemd/meshwave-vm-agent.service'), 'utf8');
    expect(unit).toBe(fs.readFileSync(path.join(repoRoot, 'deploy/systemd/meshwave-vm-agent.service'), 'utf8'));
    const [node, entry] = /^ExecStart=(\S+) (\S+)/m
      .exec(unit)!
      .slice(1)
      .map((p) => path.join(opt, p.replace(/^\/opt/, '')));
    const result = spawnSync(node!, [entry!, '--help'], { cwd: '/', env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: meshwave-vm-agent/);
    expect(spawnSync(node!, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^v24\./);
  });
});
