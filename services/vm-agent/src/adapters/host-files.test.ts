import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalPhase, readJournal, writeJournal } from './agent-journal.js';
import { exists, replaceSymlink } from './atomic-file.js';
import { immediateHostFiles, nodeHostFiles, type HostFiles } from './host-files.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});
async function newHostDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'meshwave-host-files-'));
  dirs.push(dir);
  return dir;
}

describe.each([
  ['nodeHostFiles', nodeHostFiles],
  ['immediateHostFiles', immediateHostFiles],
] as const)('%s', (_name, files: HostFiles) => {
  it('Given a host directory, When the journal, a link and a copy are written, Then the disk holds what the agent reads back', async () => {
    const dir = await newHostDir();
    const journal = { phase: JournalPhase.Idle, running: { version: 'v2', sha256: 'abc', dir: 'v2' } };
    await writeJournal(path.join(dir, 'journal.json'), journal, files);
    await files.mkdir(path.join(dir, 'versions', 'v2'), { recursive: true });
    await replaceSymlink(path.join(dir, 'current'), path.join('versions', 'v2'), files);
    await fs.writeFile(path.join(dir, 'bundle'), 'proxy bytes');
    const sha = await files.copyHashed(path.join(dir, 'bundle'), path.join(dir, 'copy'));

    expect(await readJournal(path.join(dir, 'journal.json'), files)).toEqual(journal);
    expect(await fs.readlink(path.join(dir, 'current'))).toBe(path.join('versions', 'v2'));
    expect(await fs.readFile(path.join(dir, 'copy'), 'utf8')).toBe('proxy bytes');
    expect(sha).toBe(createHash('sha256').update('proxy bytes').digest('hex'));
    // no temporary file is left beside what was written
    expect((await fs.readdir(dir)).sort()).toEqual(['bundle', 'copy', 'current', 'journal.json', 'versions']);
    expect(await exists(path.join(dir, 'missing'), files)).toBe(false);
    await expect(files.readFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('immediateHostFiles', () => {
  it('Given a journal write, When it is awaited, Then it is done before the event loop turns', async () => {
    const dir = await newHostDir();
    let turned = false;
    setImmediate(() => (turned = true));
    await writeJournal(path.join(dir, 'journal.json'), { phase: JournalPhase.Idle, running: null }, immediateHostFiles);
    expect(turned).toBe(false);
    expect(await readJournal(path.join(dir, 'journal.json'), immediateHostFiles)).toEqual({
      phase: JournalPhase.Idle,
      running: null,
    });
  });
});
