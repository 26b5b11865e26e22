import { describe, expect, it } from 'vitest';
import { BusError, BusErrorCode } from './errors.js';
import { MessageSigner } from './signing.js';

const secret = 'a-fleet-secret-of-at-least-32-bytes!';

describe('MessageSigner', () => {
  it('refuses key sets it cannot sign safely with', () => {
    const attempts = [
      () => new MessageSigner({ keys: [], activeKeyId: 'k' }),
      () => new MessageSigner({ keys: [{ id: 'k', secret: 'short' }], activeKeyId: 'k' }),
      () => new MessageSigner({ keys: [{ id: 'k', secret }], activeKeyId: 'other' }),
    ];
    for (const attempt of attempts) {
      const error = (() => {
        try {
          attempt();
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(BusError);
      expect((error as BusError).code).toBe(BusErrorCode.InvalidSigningConfig);
    }
  });

  it('verifies what it signed, and nothing with one byte or attribute changed', () => {
    const signer = new MessageSigner({ keys: [{ id: 'k', secret }], activeKeyId: 'k' });
    const value = Buffer.from('{"generation":3}');
    const signature = signer.sign(['a', 'b'], value);
    expect(signer.verify('k', signature, ['a', 'b'], value)).toBe('ok');
    expect(signer.verify('k', signature, ['a', 'c'], value)).toBe('bad-signature');
    expect(signer.verify('k', signature, ['ab', ''], value)).toBe('bad-signature');
    expect(signer.verify('k', signature, ['a', 'b'], Buffer.from('{"generation":4}'))).toBe('bad-signature');
    expect(signer.verify('k', signature.replace('v1=', 'v2='), ['a', 'b'], value)).toBe('bad-signature');
    expect(signer.verify('gone', signature, ['a', 'b'], value)).toBe('unknown-key');
  });

  it('accepts a signature only as it signs it: the same digest spelled otherwise (padded, base64) is refused', () => {
    const signer = new MessageSigner({ keys: [{ id: 'k', secret }], activeKeyId: 'k' });
    const value = Buffer.from('{"generation":3}');
    const signature = signer.sign(['a'], value);
    const digest = Buffer.from(signature.slice('v1='.length), 'base64url');
    for (const respelled of [`${signature}=`, `v1=${digest.toString('base64')}`, `${signature} `])
      if (respelled !== signature) expect(signer.verify('k', respelled, ['a'], value)).toBe('bad-signature');
  });
});
