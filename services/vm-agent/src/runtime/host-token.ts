import { createHash, randomBytes } from 'node:crypto';

// The host's bearer token (ADR 0008): 256 random bits made here, kept in the token file; only its sha256 is
// sent to the bridge when the host enrolls.

/** A new random token, base64url, for the host to keep in its token file. */
export function newHostToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The sha256 (hex) of a token, as the bridge stores it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
