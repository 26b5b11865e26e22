import { describe, expect, it } from 'vitest';
import { readBackingServices, readSigningKeys } from './service-env.js';

const KEYS = JSON.stringify([
  { id: 'k1', secret: 'a'.repeat(32) },
  { id: 'k2', secret: 'b'.repeat(32) },
]);

describe('readBackingServices', () => {
  it('reads Kafka and Redis under the MESHWAVE_ names, with topics and prefix', () => {
    expect(
      readBackingServices({
        MESHWAVE_KAFKA_BROKERS: 'kafka-0:9092, kafka-1:9092',
        MESHWAVE_REDIS_URL: 'redis://redis:6379',
        MESHWAVE_TOPIC_COMMANDS: 'fleet.commands',
        MESHWAVE_REDIS_KEY_PREFIX: 'mw2',
      }),
    ).toEqual({
      services: {
        mode: 'external',
        kafka: {
          brokers: ['kafka-0:9092', 'kafka-1:9092'],
          topicNames: { commands: 'fleet.commands' },
          sessionTimeoutMs: 10_000,
        },
        redis: { url: 'redis://redis:6379', keyPrefix: 'mw2', auditRetentionMs: 90 * 86_400_000 },
      },
      problems: [],
    });
  });

  it('reads one audit retention for every service that writes the shared audit, at least a day', () => {
    const base = { MESHWAVE_KAFKA_BROKERS: 'k:9092', MESHWAVE_REDIS_URL: 'redis://r:6379' };
    const read = (retention: string) => readBackingServices({ ...base, MESHWAVE_AUDIT_RETENTION: retention });
    const services = read('26w').services;
    expect(services?.mode === 'external' && services.redis.auditRetentionMs).toBe(26 * 7 * 86_400_000);
    expect(read('90s').problems).toEqual([
      { variable: 'MESHWAVE_AUDIT_RETENTION', message: expect.stringContaining('at least 1d') },
    ]);
  });

  it('reads the bus wire layout a service writes (ADR 0026): unset leaves the default, a wrong name is a problem', () => {
    const base = { MESHWAVE_KAFKA_BROKERS: 'k:9092', MESHWAVE_REDIS_URL: 'redis://r:6379' };
    const kafkaOf = (env: Record<string, string>) => {
      const services = readBackingServices({ ...base, ...env }).services;
      return services?.mode === 'external' ? services.kafka : undefined;
    };
    expect(kafkaOf({ MESHWAVE_BUS_WIRE_LAYOUT: 'v3' })?.wireLayout).toBe('v3');
    expect(kafkaOf({})).not.toHaveProperty('wireLayout');
    expect(readBackingServices({ ...base, MESHWAVE_BUS_WIRE_LAYOUT: 'v4' }).problems).toEqual([
      { variable: 'MESHWAVE_BUS_WIRE_LAYOUT', message: 'one of v1, v2, v3, got "v4"' },
    ]);
  });

  it('reads the Kafka session timeout every service consumes with (ADR 0045): 10 s by default, within the broker limits', () => {
    const base = { MESHWAVE_KAFKA_BROKERS: 'k:9092', MESHWAVE_REDIS_URL: 'redis://r:6379' };
    const timeoutOf = (env: Record<string, string>) => {
      const services = readBackingServices({ ...base, ...env }).services;
      return services?.mode === 'external' ? services.kafka.sessionTimeoutMs : undefined;
    };
    expect(timeoutOf({})).toBe(10_000);
    expect(timeoutOf({ MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '6000' })).toBe(6000);
    for (const bad of ['5999', '300001', '7.5', 'soon'])
      expect(readBackingServices({ ...base, MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: bad }).problems).toEqual([
        {
          variable: 'MESHWAVE_KAFKA_SESSION_TIMEOUT_MS',
          message: `a whole number of ms from 6000 to 300000, got "${bad}"`,
        },
      ]);
  });

  it('never falls back to memory: without Kafka and Redis it names both variables', () => {
    const r = readBackingServices({ KAFKA_BROKERS: 'kafka:9092', REDIS_URL: 'redis://redis:6379' });
    expect(r.services).toBeUndefined();
    expect(r.problems.map((p) => p.variable)).toEqual(['MESHWAVE_KAFKA_BROKERS', 'MESHWAVE_REDIS_URL']);
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('KAFKA_BROKERS is set, but it was renamed'),
      expect.stringContaining('REDIS_URL is set, but it was renamed'),
    ]);
    expect(readBackingServices({ MESHWAVE_KAFKA_BROKERS: 'k:9092' }).problems.map((p) => p.variable)).toEqual([
      'MESHWAVE_REDIS_URL',
    ]);
  });

  it('runs in memory only when asked for by name, and never together with Kafka or Redis', () => {
    expect(readBackingServices({ MESHWAVE_IN_MEMORY: 'true' }).services).toEqual({ mode: 'in-memory', topicNames: {} });
    expect(readBackingServices({}, { inMemoryFlag: true }).services?.mode).toBe('in-memory');
    const both = readBackingServices({ MESHWAVE_IN_MEMORY: '1', MESHWAVE_REDIS_URL: 'redis://r:6379' });
    expect(both.services).toBeUndefined();
    expect(both.problems[0]).toMatchObject({
      variable: 'MESHWAVE_IN_MEMORY',
      message: expect.stringMatching(/REDIS_URL/),
    });
    expect(readBackingServices({ MESHWAVE_IN_MEMORY: 'yes' }).problems[0]?.variable).toBe('MESHWAVE_IN_MEMORY');
  });

  it('refuses a Redis URL that is not one', () => {
    const r = readBackingServices({ MESHWAVE_KAFKA_BROKERS: 'k:9092', MESHWAVE_REDIS_URL: 'redis:6379' });
    expect(r.problems).toEqual([{ variable: 'MESHWAVE_REDIS_URL', message: expect.stringMatching(/redis:\/\//) }]);
  });
});

describe('readSigningKeys', () => {
  const noFiles = (path: string): string => {
    throw new Error(`no such file ${path}`);
  };

  it('reads the keys from the variable or the file it names; the first key is active unless named', () => {
    expect(readSigningKeys({ MESHWAVE_SIGNING_KEYS: KEYS }, noFiles, { required: true }).signing?.activeKeyId).toBe(
      'k1',
    );
    const fromFile = readSigningKeys(
      { MESHWAVE_SIGNING_KEYS_FILE: '/s/keys.json', MESHWAVE_SIGNING_ACTIVE_KEY: 'k2' },
      (p) => (p === '/s/keys.json' ? KEYS : noFiles(p)),
      { required: true },
    );
    expect(fromFile.signing).toMatchObject({ activeKeyId: 'k2', keys: [{ id: 'k1' }, { id: 'k2' }] });
  });

  it('names the variable that is missing or wrong', () => {
    const missing = (env: Record<string, string>): string[] =>
      readSigningKeys(env, noFiles, { required: true }).problems.map((p) => p.variable);
    expect(missing({})).toEqual(['MESHWAVE_SIGNING_KEYS']);
    expect(missing({ MESHWAVE_SIGNING_KEYS_FILE: '/nope' })).toEqual(['MESHWAVE_SIGNING_KEYS_FILE']);
    expect(missing({ MESHWAVE_SIGNING_KEYS: '[{"id":"k","secret":"short"}]' })).toEqual(['MESHWAVE_SIGNING_KEYS']);
    expect(missing({ MESHWAVE_SIGNING_KEYS: KEYS, MESHWAVE_SIGNING_ACTIVE_KEY: 'k9' })).toEqual([
      'MESHWAVE_SIGNING_ACTIVE_KEY',
    ]);
    expect(readSigningKeys({}, noFiles, { required: false })).toEqual({ problems: [] });
  });
});
