import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isVmAgentError } from '../errors.js';
import { loadAgentConfig } from './agent-config.js';

const example = fileURLToPath(new URL('../../../../deploy/systemd/vm-agent.example.yaml', import.meta.url));

describe('loadAgentConfig', () => {
  it('reads the shipped example and lets flags override it', async () => {
    const config = await loadAgentConfig([
      '--config',
      example,
      '--host',
      'other-host',
      '--runner',
      'child',
      '--keep-versions',
      '5',
    ]);
    expect(config).toMatchObject({
      host: 'other-host',
      group: 'payments-vms',
      stateDir: '/var/lib/meshwave-vm-agent',
      keepVersions: 5,
      proxy: { runner: 'child', systemdUnit: 'istio-proxy.service', command: 'bin/istio-proxy' },
    });
  });

  it('says which field is wrong', async () => {
    const error = await loadAgentConfig(['--host', 'Bad_Host', '--group', 'g', '--bridge-url', 'not a url']).catch(
      (e: unknown) => e,
    );
    expect(isVmAgentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/host: .*bridgeUrl: /s);
  });
});
