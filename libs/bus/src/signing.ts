import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as signBytes,
  timingSafeEqual,
  verify as verifyBytes,
  type Hmac,
  type KeyObject,
} from 'node:crypto';
import { BusError, BusErrorCode } from './errors.js';

/** One HMAC fleet key (ADR 0004). `secret` is at least 32 bytes (UTF-8 of a string, or raw bytes). */
export interface SigningKey {
  readonly id: string;
  readonly secret: string | Uint8Array;
}

/** One Ed25519 private key of this process (ADR 0038): PEM (PKCS#8) or a KeyObject. */
export interface PrivateSigningKey {
  readonly id: string;
  readonly privateKey: string | KeyObject;
}

/**
 * One Ed25519 public key a consumer accepts, bound to the principal that holds its private key: `planner`, `cluster/<name>`
 * or `vm-bridge`. A message verified with it must come from that principal (its `source`, and the target its data
 * speaks for): a cluster's key signs that cluster's reports and nothing else.
 */
export interface TrustedKey {
  readonly id: string;
  readonly principal: string;
  readonly publicKey: string | KeyObject;
}

/**
 * What a process signs with and accepts (ADR 0038, which replaces ADR 0004's trust model):
 * - `privateKeys` + `trustedKeys`: Ed25519. Messages are signed with the private key `activeKeyId`; a message is
 *   accepted when it verifies with a trusted public key and comes from that key's principal.
 * - `keys`: the HMAC fleet key set, for the embedded demo (and accepted beside Ed25519 while a fleet moves over).
 *   Messages are signed with `activeKeyId` when it names one of them.
 * Rotation, either scheme: add the new key everywhere, switch `activeKeyId`, drop the old key after the longest TTL.
 */
export interface SigningOptions {
  readonly keys?: readonly SigningKey[];
  readonly privateKeys?: readonly PrivateSigningKey[];
  readonly trustedKeys?: readonly TrustedKey[];
  readonly activeKeyId: string;
}

/** Versions the signing scheme inside the header value, so a later scheme can be told apart. */
const HMAC_SCHEME = 'v1';
const ED25519_SCHEME = 'ed25519';
const MIN_SECRET_BYTES = 32;

export type VerifyOutcome = 'ok' | 'unknown-key' | 'bad-signature';

const configError = (message: string, context: Record<string, unknown>): BusError =>
  new BusError(BusErrorCode.InvalidSigningConfig, message, { context });

/** Signs and verifies the canonical bytes of an envelope (see `signingInput`). */
export class MessageSigner {
  readonly activeKeyId: string;
  /** KeyObjects, imported once: HMAC with a raw Buffer re-imports the key on every message (about 5x slower) */
  private readonly secrets = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, { readonly key: KeyObject; readonly principal: string }>();
  private readonly active: { readonly scheme: 'hmac' | 'ed25519'; readonly key: KeyObject };

  constructor(options: SigningOptions) {
    const ids = new Set<string>();
    const claim = (id: string): void => {
      if (ids.has(id)) throw configError(`signing key id "${id}" is used twice`, { keyId: id });
      ids.add(id);
    };
    for (const key of options.keys ?? []) {
      claim(key.id);
      const secret = typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : Buffer.from(key.secret);
      if (secret.length < MIN_SECRET_BYTES)
        throw configError(`signing key "${key.id}" is shorter than ${MIN_SECRET_BYTES} bytes`, { keyId: key.id });
      this.secrets.set(key.id, createSecretKey(secret));
    }
    for (const key of options.trustedKeys ?? []) {
      if (this.publicKeys.has(key.id) || this.secrets.has(key.id))
        throw configError(`signing key id "${key.id}" is used twice`, { keyId: key.id });
      this.publicKeys.set(key.id, { key: importKey(key.id, key.publicKey, 'public'), principal: key.principal });
    }
    const privateKeys = new Map<string, KeyObject>();
    for (const key of options.privateKeys ?? []) {
      if (privateKeys.has(key.id) || this.secrets.has(key.id))
        throw configError(`signing key id "${key.id}" is used twice`, { keyId: key.id });
      privateKeys.set(key.id, importKey(key.id, key.privateKey, 'private'));
    }
    if (this.secrets.size + this.publicKeys.size + privateKeys.size === 0)
      throw configError('the signing key set is empty', {});
    const ed25519 = privateKeys.get(options.activeKeyId);
    const hmac = this.secrets.get(options.activeKeyId);
    if (ed25519 === undefined && hmac === undefined)
      throw configError(`the active signing key "${options.activeKeyId}" is not in the key set`, {
        activeKeyId: options.activeKeyId,
      });
    this.activeKeyId = options.activeKeyId;
    this.active = ed25519 !== undefined ? { scheme: 'ed25519', key: ed25519 } : { scheme: 'hmac', key: hmac! };
  }

  /** `v1=<base64url HMAC-SHA256>` or `ed25519=<base64url signature>` over the attributes and the value. */
  sign(attributes: readonly string[], value: Uint8Array): string {
    if (this.active.scheme === 'hmac')
      return `${HMAC_SCHEME}=${hmac(this.active.key, attributes, value).digest('base64url')}`;
    return `${ED25519_SCHEME}=${signBytes(null, signedBytes(attributes, value), this.active.key).toString('base64url')}`;
  }

  verify(keyId: string, signature: string, attributes: readonly string[], value: Uint8Array): VerifyOutcome {
    const trusted = this.publicKeys.get(keyId);
    if (trusted !== undefined) {
      if (!signature.startsWith(`${ED25519_SCHEME}=`)) return 'bad-signature';
      const bytes = Buffer.from(signature.slice(ED25519_SCHEME.length + 1), 'base64url');
      return verifyBytes(null, signedBytes(attributes, value), trusted.key, bytes) ? 'ok' : 'bad-signature';
    }
    const secret = this.secrets.get(keyId);
    if (secret === undefined) return 'unknown-key';
    // Compared as text, as `sign` writes it: a base64url digest is cheaper than a Buffer one (no Buffer from the
    // native side), and a signature in any other spelling than the signer's is refused.
    const given = Buffer.from(signature);
    const expected = Buffer.from(`${HMAC_SCHEME}=${hmac(secret, attributes, value).digest('base64url')}`);
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'bad-signature';
  }

  /**
   * Who holds the private half of an Ed25519 key (`planner`, `cluster/<name>`, `vm-bridge`); undefined for an HMAC
   * key, which every holder of the fleet secret shares and which therefore names nobody.
   */
  principalOf(keyId: string): string | undefined {
    return this.publicKeys.get(keyId)?.principal;
  }
}

/** An Ed25519 key from PEM (or a KeyObject), refused when it is of another type. */
function importKey(id: string, key: string | KeyObject, type: 'public' | 'private'): KeyObject {
  let object: KeyObject;
  try {
    object = typeof key !== 'string' ? key : type === 'public' ? createPublicKey(key) : createPrivateKey(key);
  } catch (cause) {
    throw new BusError(BusErrorCode.InvalidSigningConfig, `signing key "${id}" is not a PEM ${type} key`, {
      context: { keyId: id },
      cause,
    });
  }
  if (object.type !== type || object.asymmetricKeyType !== 'ed25519')
    throw configError(`signing key "${id}" is not an Ed25519 ${type} key`, { keyId: id });
  return object;
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

/** The same framing for Ed25519, which signs one buffer (no streaming API). */
const signedBytes = (attributes: readonly string[], value: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(`${JSON.stringify(attributes)}\n`), value]);
