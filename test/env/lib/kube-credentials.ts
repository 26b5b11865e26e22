// A test cluster's certificates (serving CA, client CA, apiserver and admin certificates, service-account key)
// and kubeconfigs, issued by the one certificate helper (test/support/certificates.ts).
import fs from 'node:fs';
import path from 'node:path';
import { issueCert, newCa, openssl } from '../../support/certificates.ts';
import type { ClusterState } from '../../support/env-state.ts';

/** Writes the cluster's certificates into `certDir` once; kept across restarts with the cluster's data. */
export function ensureClusterCerts(certDir: string): void {
  if (fs.existsSync(path.join(certDir, '.complete'))) return;
  fs.mkdirSync(certDir, { recursive: true });
  newCa(certDir, 'ca', 'meshwave-test-serving-ca');
  newCa(certDir, 'client-ca', 'meshwave-test-client-ca');
  issueCert(certDir, {
    ca: 'ca',
    name: 'apiserver',
    cn: 'kube-apiserver',
    usage: 'server',
    sans: [
      'IP:127.0.0.1',
      'IP:10.0.0.1',
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ],
  });
  issueCert(certDir, { ca: 'client-ca', name: 'admin', cn: 'admin', orgs: ['system:masters'], usage: 'client' });
  openssl(certDir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(certDir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  fs.writeFileSync(path.join(certDir, '.complete'), '');
}

export interface KubeconfigParts {
  readonly name: string;
  readonly server: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly user?: string;
}

/** A kubeconfig with embedded credentials for `server`. */
export function kubeconfigYaml({ name, server, caFile, certFile, keyFile, user = 'admin' }: KubeconfigParts): string {
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: ${name}
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caFile)}
contexts:
- name: ${name}
  context:
    cluster: ${name}
    user: ${user}
current-context: ${name}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(certFile)}
    client-key-data: ${b64(keyFile)}
`;
}

/**
 * Writes a kubeconfig for a new client-certificate identity (CN=user, O=groups) of `cluster`; RBAC decides
 * what it may do. Returns the kubeconfig's path.
 */
export function writeUserKubeconfig(cluster: ClusterState, user: string, groups: readonly string[] = []): string {
  const dir = path.join(cluster.certDir, 'users');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(cluster.certDir, 'client-ca.crt'), path.join(dir, 'client-ca.crt'));
  fs.copyFileSync(path.join(cluster.certDir, 'client-ca.key'), path.join(dir, 'client-ca.key'));
  const name = `${user}${groups.length ? `.${groups.join('.')}` : ''}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  const { cert, key } = issueCert(dir, { ca: 'client-ca', name, cn: user, orgs: groups, usage: 'client' });
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(
    file,
    kubeconfigYaml({
      name: cluster.name,
      server: cluster.server,
      caFile: cluster.caFile,
      certFile: cert,
      keyFile: key,
      user,
    }),
  );
  return file;
}
