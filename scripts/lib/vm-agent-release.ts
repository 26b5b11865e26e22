// The vm-agent's release: a tarball that unpacks to /opt/meshwave-vm-agent, laid out as its systemd unit
// (deploy/systemd/meshwave-vm-agent.service) runs it: the bundle, the Node that built it as bin/node (so the host
// needs no Node of its own; the tarball is for the build host's platform and architecture), the units and an
// example configuration (ADR 0029).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { directoryBytes, type Bundle } from './bundle.ts';

/** Where the unit expects the release; the tarball's one top-level directory has this base name. */
export const VM_AGENT_PREFIX = '/opt/meshwave-vm-agent';
const UNIT = 'deploy/systemd/meshwave-vm-agent.service';

export interface Release {
  readonly file: string;
  readonly bytes: number;
  /** bytes of the unpacked tree, Node included */
  readonly unpackedBytes: number;
}

/** The unit's ExecStart must start the release's Node on the bundle's entry; anything else is a broken release. */
export function checkUnitRunsBundle(unitText: string, entry: string): void {
  const execStart = /^ExecStart=(\S+) (\S+)/m.exec(unitText);
  const expected = [`${VM_AGENT_PREFIX}/bin/node`, `${VM_AGENT_PREFIX}/${entry}`];
  if (execStart === null || execStart[1] !== expected[0] || execStart[2] !== expected[1])
    throw new Error(
      `${UNIT}: ExecStart must run ${expected.join(' ')}, runs ${execStart?.slice(1).join(' ') ?? 'nothing'}`,
    );
}

export function packVmAgentRelease(root: string, bundle: Bundle, out: string): Release {
  const unit = fs.readFileSync(path.join(root, UNIT), 'utf8');
  checkUnitRunsBundle(unit, bundle.entry);
  const name = path.basename(VM_AGENT_PREFIX);
  const tree = path.join(out, name);
  fs.rmSync(tree, { recursive: true, force: true });
  fs.cpSync(bundle.dir, tree, { recursive: true, verbatimSymlinks: true });
  fs.mkdirSync(path.join(tree, 'bin'));
  fs.copyFileSync(fs.realpathSync(process.execPath), path.join(tree, 'bin/node'));
  fs.chmodSync(path.join(tree, 'bin/node'), 0o755);
  fs.cpSync(path.join(root, 'deploy/systemd'), path.join(tree, 'systemd'), { recursive: true });
  const file = path.join(out, `${name}-${bundle.version}-${process.platform}-${process.arch}.tar.gz`);
  execFileSync('tar', ['-czf', file, '--owner=0', '--group=0', '-C', out, name], { stdio: 'inherit' });
  const unpackedBytes = directoryBytes(tree);
  fs.rmSync(tree, { recursive: true, force: true });
  return { file, bytes: fs.statSync(file).size, unpackedBytes };
}
