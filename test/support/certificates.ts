// X.509 for the tests and the test environment, made with openssl (Node cannot issue certificates itself): the
// clusters' CAs, apiserver and client certificates, the injector double's serving certificate, and throwaway
// serving certificates for webhooks the tests serve. EC P-256 keys, SHA-256 signatures throughout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

/** Runs openssl in `dir`; throws with its output when it fails. */
export function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A self-signed CA as `<name>.crt` and `<name>.key` in `dir`. */
export function newCa(dir: string, name: string, cn: string, days = 3650): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-nodes',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  );
}

export interface CertRequest {
  /** base name of the signing CA's `.crt` and `.key` in the same directory */
  readonly ca: string;
  /** base name of the certificate and key written */
  readonly name: string;
  readonly cn: string;
  /** O= entries (Kubernetes groups) */
  readonly orgs?: readonly string[];
  readonly usage: 'client' | 'server';
  /** subjectAltName entries, e.g. 'IP:127.0.0.1' */
  readonly sans?: readonly string[];
  readonly days?: number;
}

/** Issues `<name>.crt` and `<name>.key` in `dir`, signed by `<ca>.crt/.key` there; returns their paths. */
export function issueCert(dir: string, request: CertRequest): { cert: string; key: string } {
  const { ca, name, cn, orgs = [], usage, sans = [], days = 3650 } = request;
  const subj = `${orgs.map((o) => `/O=${o}`).join('')}/CN=${cn}`;
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
    ].join('\n'),
  );
  openssl(dir, 'req', '-new', '-nodes', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-sha256',
    '-extfile',
    ext,
  );
  fs.rmSync(path.join(dir, `${name}.csr`));
  fs.rmSync(ext);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** A CA and a server certificate for 127.0.0.1 and localhost signed by it, in `dir` (`ca.*`, `server.*`). */
export function newServingCertFiles(
  dir: string,
  options: { caCn: string; cn: string; days: number; sans?: readonly string[] },
): void {
  newCa(dir, 'ca', options.caCn, options.days);
  issueCert(dir, {
    ca: 'ca',
    name: 'server',
    cn: options.cn,
    usage: 'server',
    sans: ['IP:127.0.0.1', 'DNS:localhost', ...(options.sans ?? [])],
    days: options.days,
  });
}

export interface ServingCert {
  /** PEM */
  readonly cert: string;
  /** PEM */
  readonly key: string;
  /** base64 PEM of the CA, for a webhook's caBundle */
  readonly caBundle: string;
}

/** A throwaway CA and serving certificate for 127.0.0.1, in memory (a webhook served by a test). */
export function newServingCert(): ServingCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-webhook-'));
  try {
    newServingCertFiles(dir, { caCn: 'meshwave-test-webhook-ca', cn: '127.0.0.1', days: 1 });
    const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
    return {
      cert: read('server.crt'),
      key: read('server.key'),
      caBundle: Buffer.from(read('ca.crt')).toString('base64'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
