import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BundleRef } from '@meshwave/contracts';

/** Where each proxy version's bundle is and what it hashes to. The command names versions, never bundles. */
export interface BundleCatalog {
  resolve(version: string): BundleRef | undefined;
}

/** A catalog from configuration: version -> bundle. */
export function staticBundleCatalog(bundles: Readonly<Record<string, BundleRef>>): BundleCatalog {
  const copy = new Map(Object.entries(bundles));
  return { resolve: (version) => copy.get(version) };
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A catalog of the `<version>.tar.gz` files in `dir`, hashed now. URLs are `baseUrl/<file>` when given (the
 * files served over HTTP), else `file://` URLs (hosts that share the directory).
 */
export async function bundleCatalogFromDirectory(dir: string, baseUrl?: string): Promise<BundleCatalog> {
  const bundles: Record<string, BundleRef> = {};
  for (const file of await fs.readdir(dir)) {
    const m = /^(.+)\.tar\.gz$/.exec(file);
    if (m?.[1] === undefined) continue;
    const sha256 = await sha256OfFile(path.join(dir, file));
    const url =
      baseUrl !== undefined ? `${baseUrl.replace(/\/$/, '')}/${file}` : pathToFileURL(path.join(dir, file)).href;
    bundles[m[1]] = { url, sha256, configDigest: sha256 };
  }
  return staticBundleCatalog(bundles);
}
