import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  VALUES_END,
  VALUES_START,
  spliceValuesTable,
  undocumentedValues,
  valuesTable,
  type ValueSchema,
} from './chart-readme.ts';

const charts = fileURLToPath(new URL('../../deploy/helm/', import.meta.url));
const read = (chart: string, file: string): string => fs.readFileSync(path.join(charts, chart, file), 'utf8');
const schemaOf = (chart: string): ValueSchema => JSON.parse(read(chart, 'values.schema.json')) as ValueSchema;

describe.each(fs.readdirSync(charts).sort())('the chart %s', (chart) => {
  it('Then every value of values.yaml is described by values.schema.json', () => {
    expect(undocumentedValues(schemaOf(chart), parse(read(chart, 'values.yaml')))).toEqual([]);
  });

  it('Then its README holds the values table generated from the schema (npm run chart-readme)', () => {
    const readme = read(chart, 'README.md');
    expect(spliceValuesTable(readme, valuesTable(schemaOf(chart), read(chart, 'values.yaml')))).toBe(readme);
  });
});

describe('the values table', () => {
  const schema: ValueSchema = {
    properties: {
      image: {
        type: 'object',
        properties: { tag: { type: 'string', description: 'Image tag | empty: appVersion.' } },
      },
      replicas: { type: 'integer', minimum: 1, description: 'Replicas.' },
      labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Labels.' },
    },
  };

  it('Given nested values, Then it has one row per leaf or free map, with the type, limits and default from values.yaml', () => {
    expect(valuesTable(schema, 'image: { tag: "" }\nreplicas: 2\nlabels: { a: b }\n').split('\n')).toEqual([
      '| value | type | default | meaning |',
      '| --- | --- | --- | --- |',
      '| `image.tag` | string | `""` | Image tag \\| empty: appVersion. |',
      '| `replicas` | integer, ≥ 1 | `2` | Replicas. |',
      '| `labels` | object | `{"a":"b"}` | Labels. |',
    ]);
  });

  it('Given a value of values.yaml the schema does not have, Then it is named as undocumented', () => {
    expect(undocumentedValues(schema, { image: { tag: '', digest: 'x' }, extra: 1, labels: { free: 'x' } })).toEqual([
      'image.digest',
      'extra',
    ]);
  });

  it('Given a schema value without a description, Then no table is made', () => {
    expect(() => valuesTable({ properties: { port: { type: 'integer' } } }, 'port: 1')).toThrow(
      /port has no description/,
    );
  });

  it('Given a README without the generated section, Then splicing says so', () => {
    expect(() => spliceValuesTable('# chart\n', 'table')).toThrow(/no .* section/);
    expect(spliceValuesTable(`a\n${VALUES_START}\nold\n${VALUES_END}\nb`, 'new')).toBe(
      `a\n${VALUES_START}\nnew\n${VALUES_END}\nb`,
    );
  });
});
