// The vm-bridge integration tests run on the real test environment or fail: no silent fallback to the
// in-memory bus and store when the environment is down.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestEnvNotUpError } from '../../support/env.js';
import { newBuses, newStore } from './vm-fleet-support.js';

const SIGNING = { keys: [{ id: 'it', secret: 'vm-fleet-support-test-signing-key-0001' }], activeKeyId: 'it' };

describe('vm-bridge integration support without the test environment', () => {
  let saved: string | undefined;
  let dir: string;
  beforeEach(() => {
    saved = process.env['MESHWAVE_ENV_DIR'];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-no-env-'));
    process.env['MESHWAVE_ENV_DIR'] = dir; // an environment directory without env.json: nothing is up
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['MESHWAVE_ENV_DIR'];
    else process.env['MESHWAVE_ENV_DIR'] = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Given no environment, When a test asks for its store, Then it fails saying how to start the environment', () => {
    expect(() => newStore()).toThrow(TestEnvNotUpError);
    expect(() => newStore()).toThrow(/npm run env:up/);
  });

  it('Given no environment, When a test asks for its buses, Then it fails saying how to start the environment', () => {
    expect(() => newBuses(SIGNING)).toThrow(TestEnvNotUpError);
    expect(() => newBuses(SIGNING)).toThrow(/npm run env:up/);
  });
});
