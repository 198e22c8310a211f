import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { init } from '../../../engine/server/init.js';
import { createIngest, type Ingest } from '../../../engine/server/ingest.js';
import { readRunMeta } from '../../../engine/store/run-store.js';
import type { RunEvent } from '../../../streams/events.js';
import { readRunEvents } from '../../../streams/replay.js';

const metrics = (events: RunEvent[]) =>
  events.flatMap((e) => (e.type === 'metric' ? [[e.name, e.value, e.step]] : []));

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(no error)';
};

describe('engine/server/init', () => {
  let runsDir: string;
  beforeEach(() => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-init-'));
  });
  afterEach(() => rmSync(runsDir, { recursive: true, force: true }));

  it('logs metrics to a local run like wandb: name, config, tags, then finish', async () => {
    const run = await init({
      name: 'my loop',
      config: { lr: 0.001 },
      tags: ['baseline'],
      runsDir,
      runId: 'loop',
    });
    expect(run.status).to.equal('running');
    run.log({ 'train/loss': 0.9, 'train/acc': 0.1 }, 1);
    run.log({ 'train/loss': 0.5 }, 2);
    run.log({ 'train/loss': 0.4 }); // the next step: 3
    const end = await run.finish();
    expect(end).to.include({ runId: 'loop', status: 'completed', lastStep: 3 });
    expect(run.status).to.equal('completed');
    const dir = join(runsDir, 'loop');
    expect(run.dir).to.equal(dir);
    const meta = readRunMeta(dir);
    expect(meta).to.include({ name: 'my loop', status: 'completed', backend: 'external' });
    expect(meta.tags).to.deep.equal(['baseline']);
    expect(meta.config).to.deep.equal({ lr: 0.001 });
    const events = readRunEvents(dir);
    expect(events.map((e) => e.type)).to.deep.equal([
      'run-start',
      'metric',
      'metric',
      'metric',
      'metric',
      'run-end',
    ]);
    expect(metrics(events)).to.deep.equal([
      ['train/loss', 0.9, 1],
      ['train/acc', 0.1, 1],
      ['train/loss', 0.5, 2],
      ['train/loss', 0.4, 3],
    ]);
  });

  it('refuses a bad value in one line naming it, and keeps every other value', async () => {
    const run = await init({ runsDir, runId: 'bad' });
    run.log({ 'train/loss': 1 }, 1);
    expect(
      message(() => run.log({ 'train/acc': 0.5, 'train/loss': 'high' as unknown as number }, 2)),
    ).to.equal('run.log: "train/loss" must be a finite number (got "high")');
    expect(message(() => run.log({ a: NaN, b: Infinity }, 3))).to.equal(
      'run.log: "a" must be a finite number (got NaN) (and 1 more)',
    );
    expect(message(() => run.log({ a: 1 }, -1))).to.equal(
      'run.log: step must be an integer >= 0 (got -1)',
    );
    expect(message(() => run.log({ a: 1 }, 1.5))).to.equal(
      'run.log: step must be an integer >= 0 (got 1.5)',
    );
    expect(message(() => run.log(3 as unknown as Record<string, number>))).to.match(
      /^run\.log: values must be an object of names and numbers.* \(got 3\)$/,
    );
    expect(message(() => run.event({ type: 'metric', name: 'x', value: 1 } as never))).to.match(
      /^run\.event\.step: /,
    );
    run.log({ 'train/loss': 0.5 }, 4);
    run.event({ type: 'step', step: 4, loss: 0.5 });
    await run.finish();
    expect(message(() => run.log({ a: 1 }))).to.equal('run.log: run bad has ended (completed)');
    expect(metrics(readRunEvents(join(runsDir, 'bad')))).to.deep.equal([
      ['train/loss', 1, 1],
      ['train/acc', 0.5, 2],
      ['train/loss', 0.5, 4],
    ]);
    expect(readRunMeta(join(runsDir, 'bad')).status).to.equal('completed');
  });

  it('fail(err) ends the run failed with the first line of its message', async () => {
    const run = await init({ runsDir, runId: 'f' });
    run.log({ loss: 1 }, 1);
    const end = await run.fail(new Error('loss diverged\n  at somewhere'));
    expect(end).to.include({ status: 'failed' });
    expect(readRunMeta(join(runsDir, 'f'))).to.include({
      status: 'failed',
      error: 'loss diverged',
    });
  });

  it('checks its options first, naming the field', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ tags: [''] }, /^init\.tags\[0\]: /],
      [{ nmae: 'x' }, /^init: unknown field "nmae"$/],
      [{ name: 3 }, /^init\.name: Expected string, received number \(got 3\)$/],
      [{ config: 'lr=1' }, /^init\.config: /],
      [{ runId: '../x', runsDir }, /^init: runId must be/],
      [{ url: 'not a url' }, /^url must be an http\(s\) URL/],
    ];
    for (const [opts, re] of bad) {
      const err = await init(opts).then(
        () => new Error('(no error)'),
        (e: Error) => e,
      );
      expect(err.message, JSON.stringify(opts)).to.match(re);
    }
    expect(readdirSync(runsDir)).to.deep.equal([]);
  });

  const index = fileURLToPath(new URL('../../../index.ts', import.meta.url));
  /** Runs a program that logs loss 1 at step 7 to `where` (init's options), then `body`. */
  const runProgram = async (where: string, body: string) => {
    const file = join(runsDir, 'loop.mts');
    writeFileSync(
      file,
      `import { init } from ${JSON.stringify(index)};\n` +
        `const run = await init({ ...${where}, runId: 'p' });\n` +
        `run.log({ loss: 1 }, 7);\n${body}\n`,
    );
    await promisify(execFile)(process.execPath, ['--import', 'tsx', file]).catch(() => undefined);
    return { meta: readRunMeta(join(runsDir, 'p')), events: readRunEvents(join(runsDir, 'p')) };
  };

  /** How a program that ends without finish() leaves its run, local or remote alike. */
  const endsWithoutFinish = (where: () => string) => {
    const runScript = (body: string) => runProgram(where(), body);

    it('finishes it completed, as wandb does, when the program ends normally', async () => {
      const { meta, events } = await runScript('');
      expect(meta.status).to.equal('completed');
      expect(metrics(events)).to.deep.equal([['loss', 1, 7]]);
      expect(events.at(-1)).to.include({ type: 'run-end', status: 'completed', step: 7 });
    });

    it('… and on process.exit(0)', async () => {
      const { meta, events } = await runScript('process.exit(0);');
      expect(meta.status).to.equal('completed');
      expect(metrics(events)).to.deep.equal([['loss', 1, 7]]);
    });

    it('ends it failed with the error of an uncaught exception', async () => {
      const { meta, events } = await runScript("throw new Error('CUDA out of memory');");
      expect(meta).to.include({ status: 'failed', error: 'CUDA out of memory' });
      expect(metrics(events)).to.deep.equal([['loss', 1, 7]]);
    });

    it('ends it stopped on SIGINT, and the process still ends as Ctrl-C ends it', async () => {
      const { meta, events } = await runScript(
        "setInterval(() => undefined, 1000); process.kill(process.pid, 'SIGINT');",
      );
      expect(meta.status).to.equal('stopped');
      expect(events.at(-2)).to.include({ type: 'alert', message: 'stopped: SIGINT received' });
      expect(metrics(events)).to.deep.equal([['loss', 1, 7]]);
    });

    it('ends it failed on process.exit(2)', async () => {
      const { meta } = await runScript('process.exit(2);');
      expect(meta).to.include({ status: 'failed', error: 'the process exited with code 2' });
    });
  };

  describe('a process that ends without finish()', () => {
    endsWithoutFinish(() => `{ runsDir: ${JSON.stringify(runsDir)} }`);
  });

  describe('with url: a live server', () => {
    let server: Server;
    let ingest: Ingest;
    let url: string;
    beforeEach(async () => {
      ingest = createIngest({ runsDir, token: 'tok' });
      server = createServer((req, res) => {
        if (!ingest.handle(req, res)) res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?token=tok`;
    });
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(new URL(path, url), {
        method: 'POST',
        headers: { authorization: 'Bearer tok', 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      expect(res.status, path).to.be.below(300);
      return (await res.json()) as unknown;
    };
    afterEach(async () => {
      ingest.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('streams the run to the server; a refused value takes nothing else with it', async () => {
      const run = await init({ url, name: 'remote loop', tags: ['r'], config: { lr: 1 } });
      run.log({ 'train/loss': 1 }, 1);
      expect(message(() => run.log({ 'train/loss': 'x' as unknown as number }, 2))).to.equal(
        'run.log: "train/loss" must be a finite number (got "x")',
      );
      run.log({ 'train/loss': 0.5 }, 3);
      const end = await run.finish();
      expect(end).to.include({ runId: run.runId, status: 'completed', lastStep: 3 });
      const dir = join(runsDir, run.runId);
      expect(readRunMeta(dir)).to.include({ name: 'remote loop', status: 'completed' });
      expect(readRunMeta(dir).tags).to.deep.equal(['r']);
      expect(metrics(readRunEvents(dir))).to.deep.equal([
        ['train/loss', 1, 1],
        ['train/loss', 0.5, 3],
      ]);
    });

    describe('a process that ends without finish(): its end reaches the server', () => {
      endsWithoutFinish(() => `{ url: ${JSON.stringify(url)} }`);
    });

    it('with runsDir too: the run on the server, and a copy under its id on this machine', async () => {
      const copies = mkdtempSync(join(tmpdir(), 'pw-init-copy-'));
      try {
        const run = await init({ url, runsDir: copies, name: 'both', tags: ['t'] });
        run.log({ 'train/loss': 1 }, 1);
        run.event({ type: 'step', step: 2, loss: 0.5 });
        const end = await run.finish();
        expect(end).to.include({ status: 'completed', dir: join(copies, run.runId) });
        for (const dir of [join(runsDir, run.runId), join(copies, run.runId)]) {
          expect(readRunMeta(dir)).to.include({ name: 'both', status: 'completed' }, dir);
          const events = readRunEvents(dir);
          expect(metrics(events), dir).to.deep.equal([['train/loss', 1, 1]]);
          expect(events.filter((e) => e.type === 'step')).to.have.length(1);
        }
        // The server's own runs dir as the copy's: one line, the server's run ended.
        const err = await init({ url, runsDir, runId: 'same' }).then(
          () => new Error('(no error)'),
          (e: Error) => e,
        );
        expect(err.message).to.match(
          /^init: runId "same" already exists in \S+ \(runsDir keeps a local copy/,
        );
        expect(readRunMeta(join(runsDir, 'same')).status).to.equal('failed');
      } finally {
        rmSync(copies, { recursive: true, force: true });
      }
    });

    it('keeps a batch of events sent twice once (its clientSeq)', async () => {
      const id = (await post('/api/runs', { runId: 'twice' })) as { runId: string };
      const batch = [{ type: 'metric', name: 'loss', value: 1, step: 1, clientSeq: 1 }];
      expect(await post(`/api/runs/${id.runId}/events`, batch)).to.include({ appended: 1 });
      expect(await post(`/api/runs/${id.runId}/events`, batch)).to.include({ appended: 0 });
      await post(`/api/runs/${id.runId}/finish`, {});
      expect(metrics(readRunEvents(join(runsDir, 'twice')))).to.deep.equal([['loss', 1, 1]]);
    });

    it('says in one line when the server refuses the run', async () => {
      const err = await init({ url: url.replace('tok', 'wrong') }).then(
        () => new Error('(no error)'),
        (e: Error) => e,
      );
      expect(err.message).to.match(
        /^init: the server at http:\/\/127\.0\.0\.1:\d+ refused the run: .*401/,
      );
    });
  });
});
