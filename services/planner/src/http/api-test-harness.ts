import { hashTokens } from './auth.js';

// What the HTTP tests share: the bus's signing key and one token per role (tests only; not built).

export const TEST_SIGNING = {
  keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }],
  activeKeyId: 'test',
};

export const testTokens = hashTokens([
  { name: 'victor', role: 'viewer', token: 'viewer-token' },
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);

/** The Authorization header of `token`. */
export const as = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });
