// A throwaway CA and a serving certificate for 127.0.0.1, so the real apiserver can call the webhook through
// clientConfig.url + caBundle. Made with openssl (Node cannot issue X.509 certificates itself).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ServingCert {
  readonly cert: string;
  readonly key: string;
  /** base64 PEM of the CA, for caBundle */
  readonly caBundle: string;
}

export function newServingCert(): ServingCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-webhook-'));
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=meshwave-test-webhook-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  );
  run(
    'req',
    '-new',
    '-nodes',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(
    path.join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  const out = {
    cert: read('server.crt'),
    key: read('server.key'),
    caBundle: Buffer.from(read('ca.crt')).toString('base64'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
