// Starts the Istio injector double (test/env/injector/server.ts) with its own CA and serving certificate.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { newServingCertFiles } from '../../support/certificates.ts';
import type { InjectorState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { freePort, portsFree } from '../../support/ports.ts';
import { envRoot, log, pidAlive, serverStatus, startDetached, stateDir, stopPid, type ServerStatus } from './common.ts';

/** The injector's CA and serving certificate, written once and kept (clusters' webhooks carry the CA). */
function ensureInjectorCerts(certDir: string): void {
  if (fs.existsSync(path.join(certDir, '.complete'))) return;
  fs.mkdirSync(certDir, { recursive: true });
  newServingCertFiles(certDir, {
    caCn: 'meshwave-test-injector-ca',
    cn: 'istiod.istio-system.svc',
    days: 3650,
    sans: ['DNS:istiod.istio-system.svc'],
  });
  fs.writeFileSync(path.join(certDir, '.complete'), '');
}

export function injectorHealthy(state: Pick<InjectorState, 'url' | 'caBundle'>): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${state.url}/healthz`,
      { ca: Buffer.from(state.caBundle, 'base64'), timeout: 3000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function upInjector(prev: InjectorState | undefined): Promise<InjectorState> {
  if (prev?.pid && pidAlive(prev.pid) && (await injectorHealthy(prev))) {
    log(`injector: reusing pid ${prev.pid} on ${prev.url}`);
    return prev;
  }
  const dir = path.join(stateDir(), 'injector');
  const certDir = path.join(dir, 'certs');
  ensureInjectorCerts(certDir);
  let port = prev?.port;
  // the port is baked into every cluster's webhook registrations: keep it whenever possible
  if (!port || !(await portsFree([port]))) port = await freePort();
  const logFile = path.join(dir, 'injector.log');
  const pid = startDetached(
    process.execPath,
    [
      path.join(envRoot, 'injector', 'server.ts'),
      '--port',
      String(port),
      '--cert',
      path.join(certDir, 'server.crt'),
      '--key',
      path.join(certDir, 'server.key'),
    ],
    { logFile },
  );
  const state = {
    url: `https://127.0.0.1:${port}`,
    caBundle: fs.readFileSync(path.join(certDir, 'ca.crt')).toString('base64'),
    port,
    pid,
    certDir,
    logFile,
  };
  await eventually('injector', () => injectorHealthy(state), { timeoutMs: 60_000, alive: () => pidAlive(pid) });
  log(`injector: started pid ${pid} on ${state.url}`);
  return state;
}

export async function downInjector(state: InjectorState | undefined): Promise<void> {
  if (state?.pid) await stopPid(state.pid, { graceMs: 5000 });
}

export function injectorStatus(state: InjectorState | undefined): Promise<ServerStatus> {
  return serverStatus(state, injectorHealthy, (s) => ({ url: s.url }));
}
