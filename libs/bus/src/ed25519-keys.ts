import { generateKeyPairSync } from 'node:crypto';
import type { PrivateSigningKey, TrustedKey } from './signing.js';

/** A fresh Ed25519 key pair as the configuration files hold it (ADR 0038): PKCS#8 and SPKI PEM. */
export interface SigningKeyPair {
  readonly privateKey: PrivateSigningKey & { readonly privateKey: string };
  readonly trustedKey: TrustedKey & { readonly publicKey: string };
}

/** For tools and tests: a key pair with id `id` whose public half is bound to `principal`. */
export function generateSigningKeyPair(id: string, principal: string): SigningKeyPair {
  const pair = generateKeyPairSync('ed25519');
  return {
    privateKey: { id, privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    trustedKey: { id, principal, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  };
}
