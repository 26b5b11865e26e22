#!/usr/bin/env node
// `meshwave-vm-agent`. Committed, unlike dist/: npm links a workspace's bin at install time only if the file exists, and
// `npm ci` comes before `npm run build` on a fresh clone (ADR 0016). Says so plainly when dist/ is missing.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('meshwave is not built: run `npm run build`\n');
  process.exit(1);
}
await import(entry.href);
