// A service's production bundle: the one way it is built, by `npm run bundle` and by each image's build stage
// (deploy/docker/*.Dockerfile runs `node scripts/bundle.ts`), so a step that breaks the image breaks the bundle
// that `npm test` builds and starts (ADR 0029). A bundle is a directory that runs with Node 24 and nothing else:
//   package.json, package-lock.json   the workspace root (its production dependencies)
//   node_modules/                     `npm ci --omit=dev --ignore-scripts` of the workspace, without TypeScript
//                                     sources, declarations and source maps
//   libs/<x>/, services/<x>/          package.json, bin/, web/ (the planner's dashboard) and the compiled dist/ (no
//                                     .d.ts, maps or tests) of the service and of the workspace packages it depends
//                                     on, nothing else
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The services that ship, by short name (the image and chart suffix). */
export const BUNDLED_SERVICES = ['planner', 'cluster-agent', 'vm-bridge', 'vm-agent'] as const;
export type BundledService = (typeof BUNDLED_SERVICES)[number];

export const isBundledService = (name: string): name is BundledService =>
  (BUNDLED_SERVICES as readonly string[]).includes(name);

interface PackageJson {
  name: string;
  version: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}

interface Workspace {
  /** path relative to the workspace root, e.g. libs/contracts */
  readonly dir: string;
  readonly manifest: PackageJson;
}

export interface Bundle {
  readonly service: BundledService;
  readonly dir: string;
  /** the command's entry, relative to the bundle: what the image's ENTRYPOINT and the systemd unit run */
  readonly entry: string;
  readonly version: string;
  readonly bytes: number;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** The workspace packages, found as npm finds them: the root's `workspaces` globs of the form `dir/*`. */
export function listWorkspaces(root: string): Workspace[] {
  const manifest = readJson<PackageJson>(path.join(root, 'package.json'));
  const found: Workspace[] = [];
  for (const glob of manifest.workspaces ?? []) {
    if (!glob.endsWith('/*')) throw new Error(`workspace glob ${glob} is not of the form dir/*`);
    const parent = glob.slice(0, -2);
    for (const name of fs.readdirSync(path.join(root, parent)).sort()) {
      const file = path.join(root, parent, name, 'package.json');
      if (fs.existsSync(file)) found.push({ dir: `${parent}/${name}`, manifest: readJson<PackageJson>(file) });
    }
  }
  return found;
}

/** The service's workspace and every workspace package it depends on, directly or not. */
export function workspaceClosure(workspaces: readonly Workspace[], service: BundledService): Workspace[] {
  const byName = new Map(workspaces.map((w) => [w.manifest.name, w]));
  const start = workspaces.find((w) => w.dir === `services/${service}`);
  if (start === undefined) throw new Error(`no workspace services/${service}`);
  const seen = new Map<string, Workspace>();
  const visit = (w: Workspace): void => {
    if (seen.has(w.manifest.name)) return;
    seen.set(w.manifest.name, w);
    for (const dep of Object.keys(w.manifest.dependencies ?? {})) {
      const next = byName.get(dep);
      if (next !== undefined) visit(next);
    }
  };
  visit(start);
  return [...seen.values()];
}

/** The entry of the service's one command, from its package.json `bin`. */
export function serviceEntry(workspace: Workspace): string {
  const bins = Object.values(workspace.manifest.bin ?? {});
  if (bins.length !== 1) throw new Error(`${workspace.dir} must declare exactly one bin, has ${bins.length}`);
  return path.posix.join(workspace.dir, bins[0]!.replace(/^\.\//, ''));
}

function run(command: string, args: readonly string[], cwd: string): void {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** `tsc -b` of the services (and, through their references, their libraries), with this Node. */
export function compile(root: string, services: readonly BundledService[]): void {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  run(process.execPath, [tsc, '-b', ...services.map((s) => `services/${s}`)], root);
}

/**
 * The production `node_modules` of the whole workspace in `stage`: the root manifest, the lock and each workspace's
 * package.json, then `npm ci --omit=dev`. Scripts are ignored: no dependency runs code at build time (none of
 * the production ones needs to), and the lock decides every version.
 */
export function installProductionDependencies(root: string, stage: string): void {
  fs.mkdirSync(stage, { recursive: true });
  for (const file of ['package.json', 'package-lock.json'])
    fs.copyFileSync(path.join(root, file), path.join(stage, file));
  for (const w of listWorkspaces(root)) {
    fs.mkdirSync(path.join(stage, w.dir), { recursive: true });
    fs.copyFileSync(path.join(root, w.dir, 'package.json'), path.join(stage, w.dir, 'package.json'));
  }
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], stage);
  pruneTypeScriptAndMaps(path.join(stage, 'node_modules'));
}

/**
 * Removes what no production process loads from the dependencies: TypeScript sources and declarations (Node does
 * not strip types under node_modules) and source maps; about half of their bytes.
 */
export function pruneTypeScriptAndMaps(nodeModules: string): void {
  for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(map|[cm]?ts)$/.test(entry.name)) fs.rmSync(path.join(entry.parentPath, entry.name));
  }
}

/** What of a compiled dist/ runs: JavaScript, no declarations, maps, build info or compiled tests. */
const shipped = (source: string): boolean =>
  fs.statSync(source).isDirectory() || (source.endsWith('.js') && !source.endsWith('.test.js'));

export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Assembles the bundle of `service` in `out/<service>` from the compiled sources and the staged dependencies. */
export function assembleBundle(root: string, stage: string, out: string, service: BundledService): Bundle {
  const dir = path.join(out, service);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ['package.json', 'package-lock.json'])
    fs.copyFileSync(path.join(stage, file), path.join(dir, file));
  fs.cpSync(path.join(stage, 'node_modules'), path.join(dir, 'node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const workspaces = listWorkspaces(root);
  const closure = workspaceClosure(workspaces, service);
  for (const w of closure) {
    const from = path.join(root, w.dir);
    const to = path.join(dir, w.dir);
    if (!fs.existsSync(path.join(from, 'dist'))) throw new Error(`${w.dir}/dist is missing: the compile step failed`);
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(path.join(from, 'package.json'), path.join(to, 'package.json'));
    fs.cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true, filter: shipped });
    // bin/: the entry; web/: the planner's dashboard, served as it is (ADR 0037)
    for (const extra of ['bin', 'web'])
      if (fs.existsSync(path.join(from, extra)))
        fs.cpSync(path.join(from, extra), path.join(to, extra), {
          recursive: true,
          filter: (f) => !f.endsWith('.test.js'),
        });
  }
  // npm linked every workspace into node_modules; a link to a package left out would dangle.
  const inClosure = new Set(closure.map((w) => w.manifest.name));
  for (const w of workspaces) {
    if (!inClosure.has(w.manifest.name)) fs.rmSync(path.join(dir, 'node_modules', w.manifest.name), { force: true });
  }
  fs.rmSync(path.join(dir, 'node_modules/.bin'), { recursive: true, force: true });
  const serviceWorkspace = closure[0]!;
  return {
    service,
    dir,
    entry: serviceEntry(serviceWorkspace),
    version: serviceWorkspace.manifest.version,
    bytes: directoryBytes(dir),
  };
}

/** Compiles, installs the production dependencies once, and assembles one bundle per service under `out`. */
export function buildBundles(root: string, out: string, services: readonly BundledService[]): Bundle[] {
  compile(root, services);
  const stage = path.join(out, '.production-dependencies');
  fs.rmSync(stage, { recursive: true, force: true });
  installProductionDependencies(root, stage);
  const bundles = services.map((s) => assembleBundle(root, stage, out, s));
  fs.rmSync(stage, { recursive: true, force: true });
  return bundles;
}
