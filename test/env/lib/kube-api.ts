// Talking to a test cluster's apiserver with its admin client certificate, without a client library (the
// environment has no dependencies beyond Node).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { ClusterState } from '../../support/env-state.ts';

/** The part of a cluster's state a request needs. */
export type ClusterAccess = Pick<ClusterState, 'name' | 'server' | 'caFile' | 'certDir'>;

export interface KubeResponse {
  readonly status: number;
  /** the parsed JSON body, or its text when it is not JSON */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- apiserver objects of every kind; callers read what they asked for
  readonly body: any;
}

export function kubeRequest(
  cluster: ClusterAccess,
  method: string,
  urlPath: string,
  body?: unknown,
  { timeoutMs = 10_000 } = {},
): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(urlPath, cluster.server);
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca: fs.readFileSync(cluster.caFile),
        cert: fs.readFileSync(path.join(cluster.certDir, 'admin.crt')),
        key: fs.readFileSync(path.join(cluster.certDir, 'admin.key')),
        headers: {
          Accept: 'application/json',
          ...(data !== undefined
            ? {
                'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
                'Content-Length': Buffer.byteLength(data),
              }
            : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: json ?? text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** An object to apply: any kind, named. */
export interface NamedObject {
  readonly metadata: { readonly name: string };
}

/** Creates the object, or merge-patches it when it exists (idempotent). */
export async function applyObject(cluster: ClusterAccess, collectionPath: string, obj: NamedObject): Promise<unknown> {
  const created = await kubeRequest(cluster, 'POST', collectionPath, obj);
  if (created.status === 201 || created.status === 200) return created.body;
  if (created.status !== 409)
    throw new Error(`POST ${collectionPath}: ${created.status} ${JSON.stringify(created.body)}`);
  const patched = await kubeRequest(cluster, 'PATCH', `${collectionPath}/${obj.metadata.name}`, obj);
  if (patched.status !== 200)
    throw new Error(`PATCH ${collectionPath}/${obj.metadata.name}: ${patched.status} ${JSON.stringify(patched.body)}`);
  return patched.body;
}

/** The status code of a GET that trusts any certificate (health endpoints with self-signed serving certs). */
export function insecureGet(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function apiReady(cluster: ClusterAccess): Promise<boolean> {
  const r = await kubeRequest(cluster, 'GET', '/readyz', undefined, { timeoutMs: 3000 });
  return r.status === 200;
}

interface NodeList {
  readonly items: readonly {
    readonly metadata: { readonly name: string };
    readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
  }[];
}

export async function nodesReady(cluster: ClusterAccess, names: readonly string[]): Promise<boolean> {
  const r = await kubeRequest(cluster, 'GET', '/api/v1/nodes', undefined, { timeoutMs: 3000 });
  if (r.status !== 200) return false;
  const ready = new Set(
    (r.body as NodeList).items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name),
  );
  return names.every((n) => ready.has(n));
}
