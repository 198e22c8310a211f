import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CONFIG_FIELDS, CONFIG_KEYS, configTable } from '../../../engine/experiment/config.js';
import { BEGIN, END, withConfigTable } from '../../../scripts/docs-config.js';

/** A markdown table with its padding dropped, so a prettier-aligned copy compares equal. */
const normalise = (table: string): string =>
  table
    .trim()
    .split('\n')
    .map((row) =>
      row
        .split(/(?<!\\)\|/)
        .map((cell) => (/^\s*:?-{3,}:?\s*$/.test(cell) ? '---' : cell.trim()))
        .join('|'),
    )
    .join('\n');

describe('README settings table', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('is the one generated from the config schema (npm run docs:config)', () => {
    expect(readme).to.contain(BEGIN).and.contain(END);
    const table = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END)).trim();
    expect(normalise(table)).to.equal(normalise(configTable()));
  });

  it('has a row for every setting, with its flag and default', () => {
    const rows = configTable().split('\n').slice(2);
    expect(rows).to.have.length(CONFIG_KEYS.length);
    for (const [i, key] of CONFIG_KEYS.entries()) {
      const f = CONFIG_FIELDS[key];
      expect(rows[i]).to.match(new RegExp(`^\\| \`${key}\` \\| `));
      if (f.flag) expect(rows[i]).to.contain(`\`--${f.flag}`);
      expect(rows[i]).to.contain(f.accepted.replace(/\|/g, '\\|'));
    }
  });

  it('notices a table that is out of date, and writes it afresh', () => {
    const table = configTable();
    const fresh = `${BEGIN}\n${table}\n${END}`;
    const stale = fresh.replace('| `3000` |', '| `1000` |');
    expect(normalise(stale)).not.to.equal(normalise(fresh));
    expect(withConfigTable(stale)).to.equal(fresh);
  });
});
