import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newEd25519Env } from '../../../../test/support/ed25519-env.ts';
import { bridgeSettingsOf, loadBridgeConfig } from './bridge-config.js';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';

const noFiles = (p: string): string => {
  throw new Error(`no such file ${p}`);
};
// on Kafka the bridge signs with its own Ed25519 keys; the shared HMAC keys are the embedded demo's (ADR 0046)
const ed25519 = newEd25519Env('vm-bridge');
const keyFiles = ed25519.readFile(noFiles);
afterAll(() => ed25519.cleanup());

async function newConfigFile(text: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mw-bridge-config-'));
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(file, text);
  return file;
}

const GROUPS = 'groups: [{ name: payments-vms, enrollmentTokenSha256: "' + 'a'.repeat(64) + '" }]\n';

describe('vm-bridge config', () => {
  it("reads a group's mesh (ADR 0058), and refuses one that is not a mesh name, naming the field", async () => {
    const env = { MESHWAVE_IN_MEMORY: 'true' };
    const sha = `"${'a'.repeat(64)}"`;
    const file = await newConfigFile(
      `groups: [{ name: payments-vms, mesh: payments, enrollmentTokenSha256: ${sha} }, { name: batch-vms }]\n`,
    );
    const loaded = await loadBridgeConfig(['--config', file], env, noFiles);
    expect(loaded.config.groups.map((g) => g.mesh)).toEqual(['payments', undefined]);
    for (const bad of ['Payments', `m${'x'.repeat(63)}`, '""']) {
      const wrong = await newConfigFile(`groups: [{ name: batch-vms }, { name: payments-vms, mesh: ${bad} }]\n`);
      await expect(loadBridgeConfig(['--config', wrong], env, noFiles)).rejects.toThrow(/groups\.1\.mesh/);
    }
  });

  it("reads how often a group's progress is re-sent (seconds in the file, 30 s by default), never under a second", async () => {
    const env = { MESHWAVE_IN_MEMORY: 'true' };
    const file = await newConfigFile(`${GROUPS}settings: { reportResendSeconds: 10, leaseTtlSeconds: 20 }\n`);
    const loaded = await loadBridgeConfig(['--config', file], env, noFiles);
    expect(bridgeSettingsOf(loaded.config.settings)).toEqual({ progressIntervalMs: 10_000, leaseTtlMs: 20_000 });
    const defaults = await loadBridgeConfig(['--config', await newConfigFile(GROUPS)], env, noFiles);
    expect(bridgeSettingsOf(defaults.config.settings)).toEqual({});
    const tooFast = await newConfigFile(`${GROUPS}settings: { reportResendSeconds: 0.1 }\n`);
    await expect(loadBridgeConfig(['--config', tooFast], env, noFiles)).rejects.toThrow(/settings.reportResendSeconds/);
  });

  it('takes its bus, store and signing keys from the variables every service reads', async () => {
    const file = await newConfigFile(GROUPS);
    const loaded = await loadBridgeConfig(
      ['--config', file],
      {
        MESHWAVE_KAFKA_BROKERS: 'kafka:9092',
        MESHWAVE_REDIS_URL: 'redis://redis:6379',
        ...ed25519.env,
        MESHWAVE_INSTANCE_ID: 'vm-bridge-0',
        MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '8000',
      },
      keyFiles,
    );
    // a restarted bridge waits for its dead predecessor's session no longer than this (ADR 0045)
    expect(loaded.backing).toMatchObject({
      mode: 'external',
      kafka: { brokers: ['kafka:9092'], sessionTimeoutMs: 8000 },
    });
    expect(loaded.signing?.activeKeyId).toBe(ed25519.activeKeyId);
    expect(loaded.config.instance).toBe('vm-bridge-0');
  });

  it('refuses to start without Kafka and Redis, naming both variables, instead of running in memory', async () => {
    const file = await newConfigFile(GROUPS);
    const err = await loadBridgeConfig(['--config', file], ed25519.env, keyFiles).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmBridgeError);
    expect(err).toMatchObject({
      code: VmBridgeErrorCode.InvalidConfig,
      context: { variables: ['MESHWAVE_KAFKA_BROKERS', 'MESHWAVE_REDIS_URL'] },
    });
  });

  it('runs in memory only with --in-memory (or MESHWAVE_IN_MEMORY=true)', async () => {
    const file = await newConfigFile(GROUPS);
    expect((await loadBridgeConfig(['--config', file, '--in-memory'], {}, noFiles)).backing.mode).toBe('in-memory');
    expect((await loadBridgeConfig(['--config', file], { MESHWAVE_IN_MEMORY: 'true' }, noFiles)).backing.mode).toBe(
      'in-memory',
    );
  });

  it('reads the event-loop delay threshold every service reads, and refuses one under 1 ms', async () => {
    const file = await newConfigFile(GROUPS);
    const env = (v: string) => ({ MESHWAVE_IN_MEMORY: 'true', MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS: v });
    expect((await loadBridgeConfig(['--config', file], env('250'), noFiles)).loopDelayThresholdMs).toBe(250);
    expect(
      (await loadBridgeConfig(['--config', file], { MESHWAVE_IN_MEMORY: 'true' }, noFiles)).loopDelayThresholdMs,
    ).toBeUndefined();
    const err = await loadBridgeConfig(['--config', file], env('0'), noFiles).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: VmBridgeErrorCode.InvalidConfig });
    expect(String((err as Error).message)).toContain('MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS');
  });

  it('names the variable that replaced a bus, store or signing section of an older file', async () => {
    const file = await newConfigFile(`${GROUPS}bus: { kind: memory }\nstore: { kind: memory }\n`);
    await expect(loadBridgeConfig(['--config', file], { MESHWAVE_IN_MEMORY: 'true' }, noFiles)).rejects.toThrow(
      /bus: moved to the environment: MESHWAVE_KAFKA_BROKERS.*store: moved to the environment: MESHWAVE_REDIS_URL/,
    );
  });

  it('answers an unknown flag with the usage, as a typed error', async () => {
    await expect(loadBridgeConfig(['--help'], {}, noFiles)).rejects.toMatchObject({
      code: VmBridgeErrorCode.InvalidConfig,
      message: expect.stringMatching(/usage: meshwave-vm-bridge/),
    });
  });
});
