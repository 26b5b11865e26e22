// `npm run bundle` / `node scripts/bundle.ts [--out DIR] [SERVICE...]`: the services' production bundles, built
// exactly as each image's build stage builds them (it runs this script; ADR 0029), and the vm-agent's release
// tarball. SERVICE: planner, cluster-agent, vm-bridge, vm-agent (default: all). DIR defaults to ./bundles.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildBundles, isBundledService, BUNDLED_SERVICES, type BundledService } from './lib/bundle.ts';
import { packVmAgentRelease } from './lib/vm-agent-release.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  options: { out: { type: 'string', default: 'bundles' } },
  allowPositionals: true,
});
const unknown = positionals.filter((s) => !isBundledService(s));
if (unknown.length > 0) {
  process.stderr.write(`bundle: unknown service ${unknown.join(', ')} (one of ${BUNDLED_SERVICES.join(', ')})\n`);
  process.exit(2);
}
const services = positionals.length > 0 ? (positionals as BundledService[]) : [...BUNDLED_SERVICES];
const out = path.resolve(values.out);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

for (const bundle of buildBundles(root, out, services)) {
  process.stdout.write(`${bundle.service}: ${bundle.dir} (${mb(bundle.bytes)}), entry ${bundle.entry}\n`);
  if (bundle.service === 'vm-agent') {
    const release = packVmAgentRelease(root, bundle, out);
    process.stdout.write(
      `vm-agent release: ${release.file} (${mb(release.bytes)}, ${mb(release.unpackedBytes)} unpacked)\n`,
    );
  }
}
