// `npm run chart-readme` / `node scripts/chart-readme.ts [--check]`: writes the values table of each chart's
// README under deploy/helm from its values.schema.json and values.yaml; with --check, writes nothing and exits 1
// when a README is out of date or a value of values.yaml is not in the schema (ADR 0029).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { spliceValuesTable, undocumentedValues, valuesTable, type ValueSchema } from './lib/chart-readme.ts';

const charts = fileURLToPath(new URL('../deploy/helm/', import.meta.url));
const { values: flags } = parseArgs({ options: { check: { type: 'boolean', default: false } } });

let stale = 0;
for (const chart of fs.readdirSync(charts).sort()) {
  const dir = path.join(charts, chart);
  const schema = JSON.parse(fs.readFileSync(path.join(dir, 'values.schema.json'), 'utf8')) as ValueSchema;
  const valuesYaml = fs.readFileSync(path.join(dir, 'values.yaml'), 'utf8');
  const undocumented = undocumentedValues(schema, parse(valuesYaml));
  if (undocumented.length > 0) {
    process.stderr.write(
      `${chart}: values.yaml has values values.schema.json does not describe: ${undocumented.join(', ')}\n`,
    );
    stale += 1;
    continue;
  }
  const file = path.join(dir, 'README.md');
  const readme = fs.readFileSync(file, 'utf8');
  const updated = spliceValuesTable(readme, valuesTable(schema, valuesYaml));
  if (updated === readme) continue;
  if (flags.check) {
    process.stderr.write(`${chart}: README.md is out of date: run npm run chart-readme\n`);
    stale += 1;
  } else {
    fs.writeFileSync(file, updated);
    process.stdout.write(`${chart}: README.md updated\n`);
  }
}
process.exit(stale > 0 ? 1 : 0);
