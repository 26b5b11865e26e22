import { describe, expect, it } from 'vitest';
import { ClusterAgentError } from './errors.js';
import { parseAgentConfig } from './agent-config.js';

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
    });
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

  it('refuses a cluster name the planner would refuse (over 63 characters)', () => {
    const env = { MESHWAVE_SIGNING_KEY: 'k'.repeat(32), KAFKA_BROKERS: 'a:9092' };
    expect(parseAgentConfig(['--cluster', `c${'a'.repeat(62)}`], env).cluster).toHaveLength(63);
    expect(() => parseAgentConfig(['--cluster', `c${'a'.repeat(63)}`], env)).toThrow(/--cluster.*at most 63/);
  });
});
