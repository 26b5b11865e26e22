import { describe, expect, it } from 'vitest';
import { ClusterAgentError } from './errors.js';
import { AGENT_USAGE, parseAgentConfig } from './agent-config.js';

describe('agent config', () => {
  it('reads flags before environment variables and applies the documented defaults', () => {
    const c = parseAgentConfig(['--cluster', 'prod-1', '--qps', '20'], {
      MESHWAVE_CLUSTER: 'ignored',
      MESHWAVE_SIGNING_KEY: 'k'.repeat(32),
      KAFKA_BROKERS: 'a:9092, b:9092',
      MESHWAVE_CLUSTER_LABELS: 'env=prod,region=eu',
    });
    expect(c).toMatchObject({
      cluster: 'prod-1',
      qps: 20,
      burst: 100,
      kafkaBrokers: ['a:9092', 'b:9092'],
      clusterLabels: { env: 'prod', region: 'eu' },
      leaderElect: true,
      webhookPort: 9443,
      progressDeadlineSeconds: 600,
    });
    const env = { MESHWAVE_CLUSTER: 'c', MESHWAVE_SIGNING_KEY: 'k'.repeat(32) };
    expect(parseAgentConfig([], { ...env, MESHWAVE_PROGRESS_DEADLINE_SECONDS: '45' }).progressDeadlineSeconds).toBe(45);
    expect(parseAgentConfig(['--progress-deadline', '5'], env).progressDeadlineSeconds).toBe(5);
    expect(() => parseAgentConfig(['--progress-deadline', '0'], env)).toThrow(/--progress-deadline.*at least 1 second/);
    expect(AGENT_USAGE).toMatch(/--progress-deadline +MESHWAVE_PROGRESS_DEADLINE_SECONDS +seconds .*\(default 600\)/);
  });

  it('lists every problem at once', () => {
    try {
      parseAgentConfig(['--qps', 'fast', '--webhook-cert', 'c.pem'], {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClusterAgentError);
      const msg = (err as Error).message;
      expect(msg).toContain('--cluster');
      expect(msg).toContain('--signing-keys-file or --signing-key');
      expect(msg).toContain('"fast" is not a whole number');
      expect(msg).toContain('--webhook-cert and --webhook-key go together');
    }
  });
});
