import { covers, requiredSigner, type MessageData, type MessageType } from '@meshwave/contracts';
import type { MessageSigner } from './signing.js';

/**
 * Why a message verified with an Ed25519 key must still be refused (ADR 0038): the key's principal is not the
 * message's `source`, or not exactly the principal its data speaks for (`requiredSigner`). Undefined: accepted. HMAC keys
 * name no principal (every holder of the fleet secret shares them) and pass: that is the trust model Ed25519 replaces.
 */
export function wrongSigner(
  signer: MessageSigner,
  keyId: string,
  source: string,
  type: MessageType,
  data: unknown,
): string | undefined {
  const principal = signer.principalOf(keyId);
  if (principal === undefined) return undefined;
  if (!covers(principal, source)) return `signed with a key of "${principal}" for source "${source}"`;
  const required = requiredSigner(type, data as MessageData<typeof type>);
  // exact: `cluster/c1` must not speak for `cluster/c1/x` (a principal is a whole key set, never a prefix)
  if (principal !== required)
    return `signed with a key of "${principal}"; a ${type} for "${required}" must be signed by "${required}"`;
  return undefined;
}
