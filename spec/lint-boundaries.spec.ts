import { expect } from 'chai';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The repository's own eslint.config.js, only its layer rule, on code that is never written
 * to disk (so no type information: the typed rules are left out, and the parser is told so).
 */
const eslint = new ESLint({
  cwd: root,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: {
    languageOptions: { parserOptions: { project: false, projectService: false } },
  },
});

/** The messages of the layer rule for `code` as if it stood at `file`. */
async function crossings(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  const fatal = result.messages.filter((m) => m.fatal);
  expect(fatal, fatal.map((m) => m.message).join('\n')).to.deep.equal([]);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries (eslint.config.js)', function () {
  this.timeout(60_000);

  it('operators/ may not import engine/ or dashboard/, types included', async () => {
    const code = [
      "import { unetDdpm } from '../engine/models/unet-ddpm.js';",
      "import type { RunStore } from '../engine/store/run-store.js';",
      "export { PHASE_COLORS } from '../dashboard/theme.js';",
      'export const made = unetDdpm;',
      'export type Store = RunStore;',
    ].join('\n');
    const found = await crossings('operators/crossing.ts', code);
    expect(found).to.have.length(3);
    expect(found[0]).to.match(/engine\/ is off limits here/);
    expect(found[2]).to.match(/dashboard\/ is off limits here/);
  });

  it('streams/ imports none of the layers above it', async () => {
    const code = [
      "import { assessPhases } from '../operators/assess-phases.js';",
      "import { RunStore } from '../engine/store/run-store.js';",
      'export const both = [assessPhases, RunStore];',
    ].join('\n');
    expect(await crossings('streams/crossing.ts', code)).to.have.length(2);
  });

  it('engine/ may not import dashboard/', async () => {
    const code =
      "import { sweptKeys } from '../../dashboard/sweep-model.js';\nexport { sweptKeys };";
    expect(await crossings('engine/cli/crossing.ts', code)).to.have.length(1);
  });

  it('inside engine/: the library rooms import no application room, cli is the top floor', async () => {
    const models =
      "import { resolveConfig } from '../experiment/config.js';\nexport { resolveConfig };";
    expect(await crossings('engine/models/crossing.ts', models)).to.have.length(1);
    const store =
      "import { startServer } from '../server/live-server.js';\nexport { startServer };";
    expect(await crossings('engine/store/crossing.ts', store)).to.have.length(1);
    const distributed = "import { main } from '../cli/cli.js';\nexport { main };";
    expect(await crossings('engine/distributed/crossing.ts', distributed)).to.have.length(1);
    const cli = "import { runStreams } from '../distributed/consumer.js';\nexport { runStreams };";
    expect(await crossings('engine/cli/fine.ts', cli)).to.deep.equal([]);
  });

  it('the browser code (dashboard/, common/) imports neither engine/ nor Node', async () => {
    const dashboard = [
      "import { readRunMeta } from '../engine/store/run-store.js';",
      "import { readFileSync } from 'node:fs';",
      'export const both = [readRunMeta, readFileSync];',
    ].join('\n');
    expect(await crossings('dashboard/crossing.ts', dashboard)).to.have.length(2);
    const common = "import { join } from 'node:path';\nexport const j = join;";
    expect(await crossings('common/crossing.ts', common)).to.have.length(1);
  });

  it("examples use the package's public API, not its files", async () => {
    const code = [
      "import { training } from '../streams/training.js';",
      "import { watchPhases } from 'phasewatch';",
      'export const both = [training, watchPhases];',
    ].join('\n');
    expect(await crossings('examples/crossing.ts', code)).to.have.length(1);
  });

  it('lets the arrows that follow the layers through', async () => {
    const down = [
      "import { assessPhases } from '../../operators/assess-phases.js';",
      "import { PHASE_COLORS } from '../../common/colours.js';",
      "import type { RunEvent } from '../../streams/events.js';",
      'export const ok = [assessPhases, PHASE_COLORS];',
      'export type E = RunEvent;',
    ].join('\n');
    expect(await crossings('engine/cli/fine.ts', down)).to.deep.equal([]);
    const view = [
      "import { sweptKeys } from '../common/sweep-keys.js';",
      "import type { RunMeta } from '../streams/events.js';",
      'export const ok = sweptKeys;',
      'export type M = RunMeta;',
    ].join('\n');
    expect(await crossings('dashboard/fine.ts', view)).to.deep.equal([]);
  });
});
