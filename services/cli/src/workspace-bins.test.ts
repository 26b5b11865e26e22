// Every command a workspace declares in `bin` must be a committed file: npm links a workspace's bin when it
// installs, and only if the file is there, so a bin inside dist/ (built after `npm ci`) is never linked and
// `npx meshwave` finds nothing on a fresh clone (ADR 0016).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** `[package dir, command, file]` for every bin of every workspace package. */
function workspaceBins(): [string, string, string][] {
  const bins: [string, string, string][] = [];
  for (const group of ['libs', 'services'])
    for (const dir of readdirSync(path.join(root, group))) {
      const pkg = JSON.parse(readFileSync(path.join(root, group, dir, 'package.json'), 'utf8')) as {
        bin?: Record<string, string>;
      };
      for (const [command, file] of Object.entries(pkg.bin ?? {})) bins.push([`${group}/${dir}`, command, file]);
    }
  return bins;
}

describe('workspace bins', () => {
  it('declares the five commands', () => {
    expect(workspaceBins().map(([, command]) => command)).toEqual(
      expect.arrayContaining([
        'meshwave',
        'meshwave-planner',
        'meshwave-cluster-agent',
        'meshwave-vm-bridge',
        'meshwave-vm-agent',
      ]),
    );
  });

  it.each(workspaceBins())(
    '%s: %s (%s) is a committed, executable file outside dist/',
    (dir, _command, file) => {
      expect(file.startsWith('dist/')).toBe(false);
      const tracked = execFileSync('git', ['ls-files', '--stage', '--', path.join(dir, file)], {
        cwd: root,
        encoding: 'utf8',
      });
      // mode 100755: npm makes the target executable when it links it, git keeps it so on checkout
      expect(tracked).toMatch(/^100755 /);
    },
    30_000,
  );

  it.each(workspaceBins())(
    '%s: %s says plainly that meshwave is not built when dist/ is missing',
    (dir, _c, file) => {
      // a copy of the package's bin without dist/ beside it, as on a fresh clone before `npm run build`
      const fresh = mkdtempSync(path.join(os.tmpdir(), 'mw-bin-'));
      mkdirSync(path.join(fresh, path.dirname(file)), { recursive: true });
      copyFileSync(path.join(root, dir, file), path.join(fresh, file));
      const r = spawnSync(process.execPath, [path.join(fresh, file), '--help'], { encoding: 'utf8' });
      expect(r.stderr).toBe('meshwave is not built: run `npm run build`\n');
      expect(r.status).toBe(1);
    },
    30_000,
  ); // spawning node can take seconds on a loaded machine
});
