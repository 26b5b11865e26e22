// The real client's informer against a scripted apiserver (HTTPS on 127.0.0.1): a watch answered with
// 410 Gone re-lists, and a watch that fails with a 500 restarts after a backoff and re-lists, each time handing
// the consumer a full resync so nothing is missed.
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKubernetesClient, type NamespaceView, type WatchEvent } from '@meshwave/cluster-agent';
import { eventually } from './fixtures.ts';
import { newServingCert } from '../../support/certificates.ts';

const cert = newServingCert();
const servers: Server[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Script {
  lists: number;
  watches: number;
}

/** An apiserver that lists namespaces (one more each time) and answers watches as `onWatch` says. */
async function newScriptedApiserver(
  onWatch: (n: number, res: ServerResponse, rv: string) => void,
): Promise<{ kubeconfig: string; script: Script }> {
  const script: Script = { lists: 0, watches: 0 };
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (url.pathname !== '/api/v1/namespaces') return void res.writeHead(404).end();
    if (url.searchParams.get('watch') === 'true') {
      script.watches++;
      onWatch(script.watches, res, url.searchParams.get('resourceVersion') ?? '');
      return;
    }
    script.lists++;
    const items = Array.from({ length: script.lists }, (_, i) => ({
      metadata: { name: `ns-${i}`, resourceVersion: String(100 + i), labels: {} },
    }));
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'NamespaceList', metadata: { resourceVersion: String(100 * script.lists) }, items }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-informer-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'ca.crt'), Buffer.from(cert.caBundle, 'base64'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'scripted',
          cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority': path.join(dir, 'ca.crt') },
        },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'scripted', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return { kubeconfig, script };
}

const resyncSizes = (events: WatchEvent<NamespaceView>[]): number[] =>
  events.flatMap((e) => (e.type === 'resync' ? [e.objects.length] : []));

describe('informer recovery in the real Kubernetes client', () => {
  it('Given a watch answered with 410 Gone, Then it re-lists and watches again from the new version', async () => {
    const { kubeconfig, script } = await newScriptedApiserver((n, res, rv) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (n === 1)
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`);
      else {
        // the second watch starts from the second list's version and delivers a change
        res.write(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: `added-at-${rv}`, resourceVersion: '999' } } })}\n`,
        );
      }
    });
    const client = createKubernetesClient({ kubeconfig });
    const events: WatchEvent<NamespaceView>[] = [];
    const handle = client.watch('namespaces', (e) => events.push(e));
    try {
      await eventually(
        're-listed and watching again',
        async () => events.some((e) => e.type === 'upsert' && e.object.name === 'added-at-200'),
        20_000,
      );
      expect(script.lists).toBe(2);
      expect(resyncSizes(events)).toEqual([1, 2]);
    } finally {
      handle.stop();
      client.close();
    }
  });

  it('Given a watch that fails with a 500, Then it restarts after a backoff with a fresh list', async () => {
    const { kubeconfig, script } = await newScriptedApiserver((n, res) => {
      if (n === 1) res.writeHead(500).end();
      else res.writeHead(200, { 'content-type': 'application/json' }); // stays open, quiet
    });
    const client = createKubernetesClient({ kubeconfig });
    const events: WatchEvent<NamespaceView>[] = [];
    const handle = client.watch('namespaces', (e) => events.push(e));
    try {
      await eventually(
        'restarted with a fresh list',
        async () => script.watches >= 2 && resyncSizes(events).length >= 2,
        20_000,
      );
      expect(resyncSizes(events).slice(0, 2)).toEqual([1, 2]);
    } finally {
      handle.stop();
      client.close();
    }
  });
});
