// `up` starts Kafka, Redis and Prometheus from empty data; a drill's restart keeps it (ADR 0002). What one run
// left (a benchmark's write-ahead log of a million series) once kept Prometheus replaying past `up`'s limit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirectory } from '../lib/common.ts';

describe('a server data directory', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  function leftOver(): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-data-'));
    roots.push(root);
    const dir = path.join(root, 'prometheus', 'data');
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'wal', '00000018'), 'segment');
    return dir;
  }

  it('given what an earlier run left, when up starts the server, then it starts from an empty directory', () => {
    const dir = leftOver();
    expect(dataDirectory(dir, { empty: true })).toBe(dir);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('given a drill restarts the server, then its data stays', () => {
    const dir = leftOver();
    dataDirectory(dir, { empty: false });
    expect(fs.readFileSync(path.join(dir, 'wal', '00000018'), 'utf8')).toBe('segment');
  });

  it('given no directory yet, then it is created either way', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-data-'));
    roots.push(root);
    for (const empty of [true, false]) {
      const dir = path.join(root, String(empty), 'data');
      dataDirectory(dir, { empty });
      expect(fs.statSync(dir).isDirectory()).toBe(true);
    }
  });
});
