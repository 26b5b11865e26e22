// Starts the Istio injector double (test/env/injector/server.mjs) with its own CA and serving certificate.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
  envRoot,
  freePort,
  log,
  pidAlive,
  portsFree,
  run,
  startDetached,
  stateDir,
  stopPid,
  waitFor,
} from './common.mjs';
import { issueCert } from './kube.mjs';

function ensureInjectorCerts(certDir) {
  if (fs.existsSync(path.join(certDir, '.complete'))) return;
  fs.mkdirSync(certDir, { recursive: true });
  run(
    'openssl',
    [
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
      '3650',
      '-subj',
      '/CN=meshwave-test-injector-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    { cwd: certDir },
  );
  issueCert(certDir, {
    ca: 'ca',
    name: 'server',
    cn: 'istiod.istio-system.svc',
    usage: 'server',
    sans: ['IP:127.0.0.1', 'DNS:localhost', 'DNS:istiod.istio-system.svc'],
  });
  fs.writeFileSync(path.join(certDir, '.complete'), '');
}

export function injectorHealthy(state) {
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

export async function upInjector(prev) {
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
      path.join(envRoot, 'injector', 'server.mjs'),
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
  await waitFor('injector', () => injectorHealthy(state), { timeoutMs: 60_000, alive: () => pidAlive(pid) });
  log(`injector: started pid ${pid} on ${state.url}`);
  return state;
}

export async function downInjector(state) {
  if (state?.pid) await stopPid(state.pid, { graceMs: 5000 });
}

export async function injectorStatus(state) {
  if (!state) return { healthy: false, reason: 'not started' };
  const alive = pidAlive(state.pid);
  return { healthy: alive && (await injectorHealthy(state)), pid: state.pid, alive, url: state.url };
}
