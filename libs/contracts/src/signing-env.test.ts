import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readSigningConfig } from './signing-env.js';

const pair = generateKeyPairSync('ed25519');
const PRIVATE = JSON.stringify([
  { id: 'p1', privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
]);
const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const FILES: Record<string, string> = {
  '/keys/own.json': PRIVATE,
  '/keys/planner.json': JSON.stringify([{ id: 'p1', principal: 'planner', publicKey }]),
  '/keys/prod-1.json': JSON.stringify([{ id: 'c1', principal: 'cluster/prod-1', publicKey }]),
};
const readFile = (path: string): string => {
  const text = FILES[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};
const HMAC = JSON.stringify([{ id: 'k1', secret: 'k'.repeat(32) }]);
const ED25519 = {
  MESHWAVE_SIGNING_PRIVATE_KEYS_FILE: '/keys/own.json',
  MESHWAVE_SIGNING_TRUSTED_KEYS_FILES: '/keys/planner.json, /keys/prod-1.json',
  MESHWAVE_SIGNING_ACTIVE_KEY: 'p1',
};
const problemsOf = (env: Record<string, string>, external = true): string[] =>
  readSigningConfig(env, readFile, { external }).problems.map((p) => `${p.variable}: ${p.message}`);

describe('readSigningConfig', () => {
  it('reads the private keys and every trusted-keys file (one Secret per cluster on the planner)', () => {
    const { signing, problems } = readSigningConfig(ED25519, readFile, { external: true });
    expect(problems).toEqual([]);
    expect(signing?.activeKeyId).toBe('p1');
    expect(signing?.trustedKeys?.map((k) => k.principal)).toEqual(['planner', 'cluster/prod-1']);
    expect(signing?.keys).toBeUndefined();
  });

  it('refuses the shared HMAC keys on Kafka, alone or beside Ed25519, and the flag that used to allow them; in memory they need no permission (ADR 0046)', () => {
    const demoOnly = /^MESHWAVE_SIGNING_KEYS: HMAC signing is for the embedded demo only/;
    expect(problemsOf({ MESHWAVE_SIGNING_KEYS: HMAC })).toEqual([expect.stringMatching(demoOnly)]);
    expect(problemsOf({ ...ED25519, MESHWAVE_SIGNING_KEYS: HMAC })).toEqual([expect.stringMatching(demoOnly)]);
    expect(problemsOf({ MESHWAVE_SIGNING_KEYS: HMAC, MESHWAVE_SIGNING_ALLOW_HMAC: 'true' })).toEqual([
      expect.stringMatching(/^MESHWAVE_SIGNING_ALLOW_HMAC: HMAC signing is for the embedded demo only/),
      expect.stringMatching(demoOnly),
    ]);
    expect(problemsOf({ ...ED25519, MESHWAVE_SIGNING_ALLOW_HMAC: 'true' })).toEqual([
      expect.stringMatching(/^MESHWAVE_SIGNING_ALLOW_HMAC: /),
    ]);
    expect(problemsOf({ MESHWAVE_SIGNING_KEYS: HMAC }, false)).toEqual([]);
    const both = readSigningConfig({ ...ED25519, MESHWAVE_SIGNING_KEYS: HMAC }, readFile, { external: false });
    expect(both.signing?.keys?.map((k) => k.id)).toEqual(['k1']);
    expect(both.signing?.activeKeyId).toBe('p1');
  });

  it('wants the active key named, among the private keys, and never echoes a key file it cannot read', () => {
    const { MESHWAVE_SIGNING_ACTIVE_KEY: _, ...unnamed } = ED25519;
    expect(problemsOf(unnamed)).toEqual([expect.stringMatching(/^MESHWAVE_SIGNING_ACTIVE_KEY: missing/)]);
    expect(problemsOf({ ...ED25519, MESHWAVE_SIGNING_ACTIVE_KEY: 'c1' })).toEqual([
      'MESHWAVE_SIGNING_ACTIVE_KEY: "c1" is not one of the private keys',
    ]);
    FILES['/keys/broken.json'] = `${PRIVATE.slice(0, 60)}`;
    const broken = problemsOf({ ...ED25519, MESHWAVE_SIGNING_PRIVATE_KEYS_FILE: '/keys/broken.json' }).join('\n');
    expect(broken).toMatch(/cannot read \/keys\/broken.json as JSON/);
    expect(broken).not.toContain('PRIVATE KEY');
    expect(problemsOf({ ...ED25519, MESHWAVE_SIGNING_TRUSTED_KEYS_FILES: '/keys/own.json' }).join('\n')).toMatch(
      /\/keys\/own.json: 0.*Unrecognized key/,
    );
  });
});
