import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '..', 'dashboard');
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') || f.endsWith('.html'))
  .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));

describe('dashboard sources', () => {
  it('take every colour from theme.ts', () => {
    const offenders = sources
      .filter((s) => s.file !== 'theme.ts')
      .flatMap((s) =>
        [...s.text.matchAll(/#[0-9a-fA-F]{3,8}\b|\brgba?\(\s*\d/g)].map(
          (m) => `${s.file}: ${m[0]}`,
        ),
      );
    expect(offenders).to.deep.equal([]);
  });

  it('hold no benchmark hooks (window.__pw*): the bench injects what it measures', () => {
    const offenders = sources.filter((s) => /__pw/.test(s.text)).map((s) => s.file);
    expect(offenders).to.deep.equal([]);
  });
});
