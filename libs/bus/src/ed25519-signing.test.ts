import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from './ed25519-keys.js';
import { BusError, BusErrorCode } from './errors.js';
import { MessageSigner } from './signing.js';

const planner1 = generateSigningKeyPair('planner-1', 'planner');
const planner2 = generateSigningKeyPair('planner-2', 'planner');
const prod1 = generateSigningKeyPair('prod-1-a', 'cluster/prod-1');
const value = Buffer.from('{"generation":3}');

describe('MessageSigner with Ed25519 keys', () => {
  it('signs with the active private key; a holder of the public key verifies it and learns whose key it is', () => {
    const planner = new MessageSigner({ privateKeys: [planner1.privateKey], activeKeyId: 'planner-1' });
    const agent = new MessageSigner({ trustedKeys: [planner1.trustedKey], ...ownKey(prod1) });
    const signature = planner.sign(['a', 'b'], value);
    expect(signature).toMatch(/^ed25519=/);
    expect(agent.verify('planner-1', signature, ['a', 'b'], value)).toBe('ok');
    expect(agent.principalOf('planner-1')).toBe('planner');
    expect(agent.verify('planner-1', signature, ['a', 'c'], value)).toBe('bad-signature');
    expect(agent.verify('planner-1', signature, ['a', 'b'], Buffer.from('{"generation":4}'))).toBe('bad-signature');
  });

  it('lets an agent verify but never sign as the planner: its own signatures do not pass under a planner key id', () => {
    const agent = new MessageSigner({ trustedKeys: [planner1.trustedKey], ...ownKey(prod1) });
    const forged = agent.sign(['a'], value);
    const otherAgent = new MessageSigner({ trustedKeys: [planner1.trustedKey], ...ownKey(prod1) });
    expect(otherAgent.verify('planner-1', forged, ['a'], value)).toBe('bad-signature');
    expect(otherAgent.verify('prod-1-a', forged, ['a'], value)).toBe('unknown-key');
  });

  it('rotates with an overlap: both public keys verify while the planner switches its active key', () => {
    const before = new MessageSigner({
      privateKeys: [planner1.privateKey, planner2.privateKey],
      activeKeyId: 'planner-1',
    });
    const after = new MessageSigner({
      privateKeys: [planner1.privateKey, planner2.privateKey],
      activeKeyId: 'planner-2',
    });
    const agent = new MessageSigner({ trustedKeys: [planner1.trustedKey, planner2.trustedKey], ...ownKey(prod1) });
    expect(agent.verify(before.activeKeyId, before.sign(['a'], value), ['a'], value)).toBe('ok');
    expect(agent.verify(after.activeKeyId, after.sign(['a'], value), ['a'], value)).toBe('ok');
    // The old key dropped from the agent's set: what it signed is now from an unknown key.
    const rotated = new MessageSigner({ trustedKeys: [planner2.trustedKey], ...ownKey(prod1) });
    expect(rotated.verify('planner-1', before.sign(['a'], value), ['a'], value)).toBe('unknown-key');
  });

  it('refuses an HMAC-spelled signature under an Ed25519 key id, and an Ed25519 one under an HMAC key id', () => {
    const secret = 'a-fleet-secret-of-at-least-32-bytes!';
    const mixed = new MessageSigner({
      keys: [{ id: 'fleet', secret }],
      trustedKeys: [planner1.trustedKey],
      activeKeyId: 'fleet',
    });
    const hmacSignature = mixed.sign(['a'], value);
    expect(mixed.verify('fleet', hmacSignature, ['a'], value)).toBe('ok');
    expect(mixed.principalOf('fleet')).toBeUndefined();
    expect(mixed.verify('planner-1', hmacSignature, ['a'], value)).toBe('bad-signature');
    const planner = new MessageSigner({ privateKeys: [planner1.privateKey], activeKeyId: 'planner-1' });
    expect(mixed.verify('fleet', planner.sign(['a'], value), ['a'], value)).toBe('bad-signature');
  });

  it('refuses key sets it cannot sign or verify safely with', () => {
    const attempts = [
      () => new MessageSigner({ trustedKeys: [planner1.trustedKey], activeKeyId: 'planner-1' }),
      () => new MessageSigner({ privateKeys: [{ id: 'p', privateKey: 'not a key' }], activeKeyId: 'p' }),
      () =>
        new MessageSigner({ privateKeys: [{ id: 'p', privateKey: planner1.trustedKey.publicKey }], activeKeyId: 'p' }),
      () =>
        new MessageSigner({
          trustedKeys: [{ ...prod1.trustedKey, id: 'planner-1' }, planner1.trustedKey],
          activeKeyId: 'x',
        }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(BusError);
      try {
        attempt();
      } catch (e) {
        expect((e as BusError).code).toBe(BusErrorCode.InvalidSigningConfig);
      }
    }
  });
});

function ownKey(pair: ReturnType<typeof generateSigningKeyPair>): {
  privateKeys: [typeof pair.privateKey];
  activeKeyId: string;
} {
  return { privateKeys: [pair.privateKey], activeKeyId: pair.privateKey.id };
}
