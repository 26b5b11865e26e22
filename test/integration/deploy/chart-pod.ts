// A pod of a chart's Deployment, as far as a process on this machine can be one: the container's environment as
// the kubelet would give it (literal values, the pod's name and namespace from the downward API), its volumes
// written under the image's root at their mount paths, and the image's ENTRYPOINT started with the container's
// arguments. Paths under a mount, in the environment, point into the image's root.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Container } from '../../support/helm-chart.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
}

/** The container's environment; a variable from a Secret or ConfigMap reference is refused (give it literally). */
export function containerEnv(container: Container, pod: PodIdentity, imageRoot: string): Record<string, string> {
  const env: Record<string, string> = {};
  const mounts = ((container as { volumeMounts?: { mountPath: string }[] }).volumeMounts ?? []).map((m) => m.mountPath);
  for (const v of (container.env ?? []) as EnvVar[]) {
    const field = v.valueFrom?.fieldRef?.fieldPath;
    let value: string;
    if (v.value !== undefined) value = v.value;
    else if (field === 'metadata.name') value = pod.name;
    else if (field === 'metadata.namespace') value = pod.namespace;
    else throw new Error(`${v.name}: a reference this test does not resolve (${JSON.stringify(v.valueFrom)})`);
    env[v.name] = mounts.some((m) => value.startsWith(`${m}/`)) ? path.join(imageRoot, value) : value;
  }
  return env;
}

/** Writes a volume's files (name -> content) at its mount path under the image's root. */
export function mountVolume(imageRoot: string, mountPath: string, files: Record<string, string>): void {
  const dir = path.join(imageRoot, mountPath);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
}

export interface RunningPod {
  readonly process: ChildProcess;
  /** everything the container wrote so far */
  output(): string;
}

export function startPod(
  entry: { command: string; args: string[]; cwd: string },
  container: Container,
  env: Record<string, string>,
): RunningPod {
  const child = spawn(entry.command, [...entry.args, ...(container.args ?? [])], {
    cwd: entry.cwd,
    env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production', OTEL_SDK_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { process: child, output: () => output };
}
