import { afterAll, describe, expect, it } from 'vitest';
import { newEd25519Env } from '../../../../test/support/ed25519-env.ts';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import { AGENT_USAGE, parseAgentConfig } from './agent-config.js';

const KEYS = JSON.stringify([{ id: 'k1', secret: 'k'.repeat(32) }]);
const noFiles = (path: string): string => {
  throw new Error(`no such file ${path}`);
};
// on Kafka a process signs with its own Ed25519 keys; the shared HMAC keys are the embedded demo's (ADR 0046)
const ed25519 = newEd25519Env('prod-1');
const SIGNING = ed25519.env;
const keyFiles = ed25519.readFile(noFiles);
afterAll(() => ed25519.cleanup());

describe('agent config', () => {
  it('reads flags before environment variables and applies the documented defaults', () => {
    const c = parseAgentConfig(['--cluster', 'prod-1', '--qps', '20'], {
      MESHWAVE_CLUSTER: 'ignored',
      ...SIGNING,
      MESHWAVE_KAFKA_BROKERS: 'a:9092, b:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_CLUSTER_LABELS: 'env=prod,region=eu',
    });
    expect(c).toMatchObject({
      cluster: 'prod-1',
      qps: 20,
      burst: 100,
      backing: { mode: 'external', kafka: { brokers: ['a:9092', 'b:9092'] }, redis: { url: 'redis://redis:6379' } },
      signing: { activeKeyId: ed25519.activeKeyId },
      clusterLabels: { env: 'prod', region: 'eu' },
      leaderElect: true,
      webhookPort: 9443,
      progressDeadlineSeconds: 600,
      eventLoopDelayThresholdMs: 1000,
      reportResendMs: 30_000,
    });
    // a restarted agent's consumer joins its group once the dead one's session ends (ADR 0045): 10 s by default
    expect(c.backing).toMatchObject({ kafka: { sessionTimeoutMs: 10_000 } });
    const kafkaEnv = { ...SIGNING, MESHWAVE_KAFKA_BROKERS: 'a:9092' };
    const quick = parseAgentConfig(['--cluster', 'c'], {
      ...kafkaEnv,
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '7000',
    });
    expect(quick.backing).toMatchObject({ kafka: { sessionTimeoutMs: 7000 } });
    const env = { MESHWAVE_CLUSTER: 'c', MESHWAVE_SIGNING_KEYS: KEYS, MESHWAVE_IN_MEMORY: 'true' };
    expect(
      parseAgentConfig([], { ...env, MESHWAVE_PROGRESS_DEADLINE_SECONDS: '45' }, noFiles).progressDeadlineSeconds,
    ).toBe(45);
    expect(parseAgentConfig(['--progress-deadline', '5'], env, noFiles).progressDeadlineSeconds).toBe(5);
    expect(() => parseAgentConfig(['--progress-deadline', '0'], env, noFiles)).toThrow(
      /--progress-deadline.*at least 1 second/,
    );
    expect(AGENT_USAGE).toMatch(/--progress-deadline +MESHWAVE_PROGRESS_DEADLINE_SECONDS +seconds .*\(default 600\)/);
    expect(
      parseAgentConfig([], { ...env, MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS: '250' }, noFiles)
        .eventLoopDelayThresholdMs,
    ).toBe(250);
    expect(() => parseAgentConfig(['--event-loop-delay-threshold', '0'], env, noFiles)).toThrow(
      /--event-loop-delay-threshold.*at least 1 ms/,
    );
  });

  it('reads how often the whole progress is re-sent, and refuses a resend faster than a second', () => {
    const env = { MESHWAVE_CLUSTER: 'c1', MESHWAVE_SIGNING_KEYS: KEYS, MESHWAVE_IN_MEMORY: 'true' };
    expect(parseAgentConfig([], { ...env, MESHWAVE_REPORT_RESEND_MS: '5000' }, noFiles).reportResendMs).toBe(5000);
    expect(AGENT_USAGE).toMatch(/--report-resend +MESHWAVE_REPORT_RESEND_MS +.*\(default 30000\)/);
    expect(() => parseAgentConfig(['--report-resend', '10'], env, noFiles)).toThrow(
      /--report-resend.*at least 1000 ms/,
    );
  });

  it('renames topics and prefixes store keys with the variables the planner reads (ADR 0016)', () => {
    const c = parseAgentConfig(['--cluster', 'c1'], {
      ...SIGNING,
      MESHWAVE_KAFKA_BROKERS: 'k:9092',
      MESHWAVE_REDIS_URL: 'redis://r:6379',
      MESHWAVE_TOPIC_COMMANDS: 'team.commands',
      MESHWAVE_TOPIC_EVENTS: 'team.events',
      MESHWAVE_TOPIC_DLQ: 'team.dlq',
      MESHWAVE_REDIS_KEY_PREFIX: 'team',
    });
    expect(c.backing).toMatchObject({
      kafka: { topicNames: { commands: 'team.commands', events: 'team.events', dlq: 'team.dlq' } },
      redis: { keyPrefix: 'team' },
    });
    expect(AGENT_USAGE).toContain('MESHWAVE_TOPIC_COMMANDS|EVENTS|DLQ');
  });

  it('lists every problem at once', () => {
    try {
      parseAgentConfig(['--qps', 'fast', '--webhook-cert', 'c.pem'], {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClusterAgentError);
      const msg = (err as Error).message;
      expect(msg).toContain('--cluster');
      expect(msg).toContain('MESHWAVE_SIGNING_PRIVATE_KEYS_FILE: missing');
      expect(msg).toContain('"fast" is not a whole number');
      expect(msg).toContain('--webhook-cert and --webhook-key go together');
    }
  });

  it('refuses to start without its bus and store, naming the variables, instead of running on memory', () => {
    // the names the agent used to read are not an alternative: one vocabulary for every service (ADR 0016)
    const env = { ...SIGNING, KAFKA_BROKERS: 'a:9092', REDIS_URL: 'redis://r:6379' };
    try {
      parseAgentConfig(['--cluster', 'prod-1'], env, keyFiles);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClusterAgentError);
      expect(err).toMatchObject({
        code: ClusterAgentErrorCode.Config,
        context: { variables: ['MESHWAVE_KAFKA_BROKERS', 'MESHWAVE_REDIS_URL'] },
      });
      expect((err as Error).message).toMatch(/MESHWAVE_KAFKA_BROKERS: missing[\s\S]*MESHWAVE_REDIS_URL: missing/);
    }
  });

  it('runs on the in-memory bus and store only when asked for by flag or variable, never beside Kafka', () => {
    expect(parseAgentConfig(['--cluster', 'c', '--in-memory'], {}, noFiles)).toMatchObject({
      backing: { mode: 'in-memory' },
      signing: undefined,
    });
    expect(parseAgentConfig(['--cluster', 'c'], { MESHWAVE_IN_MEMORY: 'true' }, noFiles).backing.mode).toBe(
      'in-memory',
    );
    expect(() => parseAgentConfig(['--cluster', 'c', '--in-memory', '--kafka-brokers', 'k:9092'], {}, noFiles)).toThrow(
      /MESHWAVE_IN_MEMORY: .*MESHWAVE_KAFKA_BROKERS is set too/,
    );
  });

  it('refuses the shared HMAC keys on Kafka, the file the chart used to mount included, with a typed error that says why (ADR 0046)', () => {
    const env = { MESHWAVE_SIGNING_KEYS_FILE: '/etc/meshwave/signing/keys.json', MESHWAVE_SIGNING_ACTIVE_KEY: 'k1' };
    const parse = (): unknown =>
      parseAgentConfig(['--cluster', 'c', '--kafka-brokers', 'k:9092', '--redis-url', 'redis://r:6379'], env, (p) =>
        p === '/etc/meshwave/signing/keys.json' ? KEYS : noFiles(p),
      );
    expect(parse).toThrow(ClusterAgentError);
    expect(parse).toThrow(/MESHWAVE_SIGNING_KEYS: HMAC signing is for the embedded demo only/);
  });

  it('refuses a cluster name the planner would refuse (over 63 characters)', () => {
    const env = { MESHWAVE_SIGNING_KEYS: KEYS, MESHWAVE_IN_MEMORY: 'true' };
    expect(parseAgentConfig(['--cluster', `c${'a'.repeat(62)}`], env, noFiles).cluster).toHaveLength(63);
    expect(() => parseAgentConfig(['--cluster', `c${'a'.repeat(63)}`], env, noFiles)).toThrow(/--cluster.*at most 63/);
  });
});
