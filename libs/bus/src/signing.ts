import { createHmac, createSecretKey, timingSafeEqual, type Hmac, type KeyObject } from 'node:crypto';
import { BusError, BusErrorCode } from './errors.js';

/** One fleet key. `secret` is at least 32 bytes (UTF-8 of a string, or raw bytes). */
export interface SigningKey {
  readonly id: string;
  readonly secret: string | Uint8Array;
}

/**
 * The fleet's key set (ADR 0004): messages are signed with `activeKeyId` and accepted when signed with any
 * key of `keys`. Rotation = add the new key everywhere, switch `activeKeyId`, later drop the old key.
 */
export interface SigningOptions {
  readonly keys: readonly SigningKey[];
  readonly activeKeyId: string;
}

/** Versions the signing scheme inside the header value, so a later scheme can be told apart. */
const SCHEME = 'v1';
const MIN_SECRET_BYTES = 32;

export type VerifyOutcome = 'ok' | 'unknown-key' | 'bad-signature';

/** Signs and verifies the canonical bytes of an envelope (see `signingInput`). */
export class MessageSigner {
  readonly activeKeyId: string;
  /** KeyObjects, imported once: HMAC with a raw Buffer re-imports the key on every message (about 5x slower) */
  private readonly secrets: ReadonlyMap<string, KeyObject>;

  constructor(options: SigningOptions) {
    if (options.keys.length === 0) {
      throw new BusError(BusErrorCode.InvalidSigningConfig, 'the signing key set is empty');
    }
    const secrets = new Map<string, KeyObject>();
    for (const key of options.keys) {
      const secret = typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : Buffer.from(key.secret);
      if (secret.length < MIN_SECRET_BYTES) {
        throw new BusError(
          BusErrorCode.InvalidSigningConfig,
          `signing key "${key.id}" is shorter than ${MIN_SECRET_BYTES} bytes`,
          {
            context: { keyId: key.id },
          },
        );
      }
      secrets.set(key.id, createSecretKey(secret));
    }
    if (!secrets.has(options.activeKeyId)) {
      throw new BusError(
        BusErrorCode.InvalidSigningConfig,
        `the active signing key "${options.activeKeyId}" is not in the key set`,
        {
          context: { activeKeyId: options.activeKeyId },
        },
      );
    }
    this.activeKeyId = options.activeKeyId;
    this.secrets = secrets;
  }

  /** `v1=<base64url HMAC-SHA256>` over the attributes and the value, with the active key. */
  sign(attributes: readonly string[], value: Uint8Array): string {
    const secret = this.secrets.get(this.activeKeyId) as KeyObject;
    return `${SCHEME}=${hmac(secret, attributes, value).digest('base64url')}`;
  }

  verify(keyId: string, signature: string, attributes: readonly string[], value: Uint8Array): VerifyOutcome {
    const secret = this.secrets.get(keyId);
    if (secret === undefined) return 'unknown-key';
    // Compared as text, as `sign` writes it: a base64url digest is cheaper than a Buffer one (no Buffer from the
    // native side), and a signature in any other spelling than the signer's is refused.
    const given = Buffer.from(signature);
    const expected = Buffer.from(`${SCHEME}=${hmac(secret, attributes, value).digest('base64url')}`);
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'bad-signature';
  }
}

/**
 * The attributes are framed as a JSON array (unambiguous: no attribute can bleed into the next), then a
 * newline, then the value bytes as they travel.
 */
function hmac(secret: KeyObject, attributes: readonly string[], value: Uint8Array): Hmac {
  return createHmac('sha256', secret)
    .update(`${JSON.stringify(attributes)}\n`)
    .update(value);
}
