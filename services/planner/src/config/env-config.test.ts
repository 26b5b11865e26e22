import { afterAll, describe, expect, it } from 'vitest';
import { newEd25519Env } from '../../../../test/support/ed25519-env.ts';
import { readPlannerEnv } from './env-config.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { hashToken } from '../http/auth.js';

// on Kafka the planner signs with its own Ed25519 keys; the shared HMAC keys are the embedded demo's (ADR 0046)
const ed25519 = newEd25519Env('planner');
afterAll(() => ed25519.cleanup());
const HMAC_KEYS = JSON.stringify([{ id: 'k1', secret: 'x'.repeat(32) }]);
const unsigned = {
  MESHWAVE_KAFKA_BROKERS: 'kafka-0:9092, kafka-1:9092',
  MESHWAVE_REDIS_URL: 'redis://redis:6379',
  MESHWAVE_TOKENS: JSON.stringify([{ name: 'ops', role: 'operator', token: 'a-very-long-operator-token' }]),
};
const base = { ...unsigned, ...ed25519.env };

describe('readPlannerEnv', () => {
  it('reads the HTTP limits; what is not set keeps its default', () => {
    expect(readPlannerEnv(base).http).toEqual({ rateLimit: {} });
    const c = readPlannerEnv({
      ...base,
      MESHWAVE_BODY_LIMIT: '2097152',
      MESHWAVE_HTTP_HEADERS_TIMEOUT_MS: '5000',
      MESHWAVE_HTTP_REQUEST_TIMEOUT_MS: '20000',
      MESHWAVE_HTTP_IDLE_TIMEOUT_MS: '90000',
      MESHWAVE_HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      MESHWAVE_RATE_LIMIT_WINDOW_MS: '10000',
      MESHWAVE_RATE_LIMIT_PER_TOKEN: '300',
      MESHWAVE_RATE_LIMIT_PER_ADDRESS: '50',
      MESHWAVE_EVENT_STREAMS_PER_CLIENT: '4',
    });
    expect(c.http).toEqual({
      bodyLimitBytes: 2097152,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 20000,
      idleTimeoutMs: 90000,
      keepAliveTimeoutMs: 65000,
      eventStreamsPerClient: 4,
      rateLimit: { windowMs: 10000, perToken: 300, perAddress: 50 },
    });
    expect(() => readPlannerEnv({ ...base, MESHWAVE_RATE_LIMIT_PER_TOKEN: 'many' })).toThrow(
      /MESHWAVE_RATE_LIMIT_PER_TOKEN/,
    );
  });

  it('reads brokers, Redis, tokens (hashed at once) and signing keys, with defaults', () => {
    const c = readPlannerEnv(base);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      backing: {
        mode: 'external',
        kafka: { brokers: ['kafka-0:9092', 'kafka-1:9092'] },
        redis: { url: 'redis://redis:6379' },
      },
      signing: { activeKeyId: ed25519.activeKeyId },
    });
    expect(c.tokens).toEqual([{ name: 'ops', role: 'operator', sha256: hashToken('a-very-long-operator-token') }]);
    expect(JSON.stringify(c)).not.toContain('a-very-long-operator-token');
  });

  it('reads secrets from the files *_FILE names', () => {
    const files: Record<string, string> = {
      '/s/tokens': JSON.stringify([{ name: 'v', role: 'viewer', sha256: 'a'.repeat(64) }]),
    };
    const c = readPlannerEnv(
      { ...base, MESHWAVE_TOKENS: undefined, MESHWAVE_TOKENS_FILE: '/s/tokens', MESHWAVE_PORT: '9000' },
      ed25519.readFile((p) => files[p]!),
    );
    expect(c.tokens[0]).toEqual({ name: 'v', role: 'viewer', sha256: 'a'.repeat(64) });
    expect(c.port).toBe(9000);
  });

  it('names the variable that is wrong', () => {
    expect(() => readPlannerEnv({ ...base, MESHWAVE_KAFKA_BROKERS: '' })).toThrow(/MESHWAVE_KAFKA_BROKERS/);
    expect(() =>
      readPlannerEnv({ ...base, MESHWAVE_TOKENS: '[{"name":"x","role":"root","token":"0123456789abcdef"}]' }),
    ).toThrow(/MESHWAVE_TOKENS: 0.*/);
    expect(() => readPlannerEnv({ ...base, MESHWAVE_SIGNING_KEYS: '[{"id":"k","secret":"short"}]' })).toThrow(
      /32 bytes/,
    );
    // the shared HMAC keys on Kafka: refused, in one typed error, with why (ADR 0046)
    const hmacOnKafka = { ...unsigned, MESHWAVE_SIGNING_KEYS: HMAC_KEYS, MESHWAVE_SIGNING_ACTIVE_KEY: 'k1' };
    expect(() => readPlannerEnv(hmacOnKafka)).toThrow(PlannerError);
    expect(() => readPlannerEnv(hmacOnKafka)).toThrow(
      /MESHWAVE_SIGNING_KEYS: HMAC signing is for the embedded demo only/,
    );
    expect(() => readPlannerEnv({ ...base, MESHWAVE_SIGNING_ACTIVE_KEY: 'k9' })).toThrow(/MESHWAVE_SIGNING_ACTIVE_KEY/);
    expect(() => readPlannerEnv({ ...base, MESHWAVE_PORT: 'eighty' })).toThrow(/MESHWAVE_PORT/);
    expect(readPlannerEnv({ ...base, MESHWAVE_PORT: '0' }).port).toBe(0);
  });
});

describe('readPlannerEnv: bus and store (ADR 0016)', () => {
  it('refuses to start without Kafka and Redis, naming both variables in one typed error', () => {
    try {
      readPlannerEnv({ ...base, MESHWAVE_KAFKA_BROKERS: undefined, MESHWAVE_REDIS_URL: undefined });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PlannerError);
      expect(err).toMatchObject({
        code: PlannerErrorCode.InvalidConfig,
        context: { variables: ['MESHWAVE_KAFKA_BROKERS', 'MESHWAVE_REDIS_URL'] },
      });
      expect((err as Error).message).toMatch(/MESHWAVE_KAFKA_BROKERS: missing[\s\S]*MESHWAVE_REDIS_URL: missing/);
    }
  });

  it('runs in memory only with MESHWAVE_IN_MEMORY=true, where signing keys may be left out', () => {
    const c = readPlannerEnv({
      MESHWAVE_IN_MEMORY: 'true',
      MESHWAVE_TOKENS: base.MESHWAVE_TOKENS,
    });
    expect(c.backing.mode).toBe('in-memory');
    expect(c.signing).toBeUndefined();
    expect(() => readPlannerEnv({ ...base, MESHWAVE_IN_MEMORY: 'true' })).toThrow(/MESHWAVE_IN_MEMORY/);
  });
});

describe('readPlannerEnv: metric gates', () => {
  it('has no Prometheus unless MESHWAVE_PROMETHEUS_URL is set', () => {
    expect(readPlannerEnv(base).prometheus).toBeUndefined();
    expect(() => readPlannerEnv({ ...base, MESHWAVE_METRICS_WINDOW: '5m' })).toThrow(
      /MESHWAVE_METRICS_WINDOW: set MESHWAVE_PROMETHEUS_URL/,
    );
  });

  it('reads the URL, cluster label, window and thresholds, with defaults', () => {
    expect(readPlannerEnv({ ...base, MESHWAVE_PROMETHEUS_URL: 'http://prometheus:9090' }).prometheus).toEqual({
      url: 'http://prometheus:9090',
      windowSeconds: 300,
      timeoutMs: 5000,
      cacheMs: 2000,
      minRequests: 100,
      minWorkloadRequests: 20,
    });
    expect(
      readPlannerEnv({
        ...base,
        MESHWAVE_PROMETHEUS_URL: 'https://thanos.example/prom',
        MESHWAVE_PROMETHEUS_CLUSTER_LABEL: 'cluster',
        MESHWAVE_METRICS_WINDOW: '90s',
        MESHWAVE_PROMETHEUS_TIMEOUT_MS: '2000',
        MESHWAVE_GATE_RETRY_MS: '1000',
      }),
    ).toMatchObject({ gateRetryMs: 1000, prometheus: { clusterLabel: 'cluster', windowSeconds: 90, timeoutMs: 2000 } });
  });

  it('names the variable that is wrong', () => {
    const prom = { ...base, MESHWAVE_PROMETHEUS_URL: 'http://prometheus:9090' };
    expect(() => readPlannerEnv({ ...base, MESHWAVE_PROMETHEUS_URL: 'prometheus:9090' })).toThrow(
      /MESHWAVE_PROMETHEUS_URL/,
    );
    expect(() => readPlannerEnv({ ...prom, MESHWAVE_PROMETHEUS_CLUSTER_LABEL: 'k8s-cluster' })).toThrow(
      /MESHWAVE_PROMETHEUS_CLUSTER_LABEL/,
    );
    expect(() => readPlannerEnv({ ...prom, MESHWAVE_METRICS_WINDOW: 'five minutes' })).toThrow(
      /MESHWAVE_METRICS_WINDOW/,
    );
  });
});

describe('readPlannerEnv: audit retention', () => {
  it('keeps audit entries 90 days unless MESHWAVE_AUDIT_RETENTION says otherwise, and refuses less than a day', () => {
    const day = 86_400_000;
    expect(readPlannerEnv(base).auditRetentionMs).toBe(90 * day);
    expect(readPlannerEnv({ ...base, MESHWAVE_AUDIT_RETENTION: '26w' }).auditRetentionMs).toBe(26 * 7 * day);
    expect(readPlannerEnv({ ...base, MESHWAVE_AUDIT_RETENTION: '1d' }).auditRetentionMs).toBe(day);
    for (const bad of ['90s', '23h', 'ninety days', '-1d'])
      expect(() => readPlannerEnv({ ...base, MESHWAVE_AUDIT_RETENTION: bad })).toThrow(/MESHWAVE_AUDIT_RETENTION/);
  });
});
