import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, lastValueFrom } from 'rxjs';
import { checkpointEvery, saveCheckpoint } from '../../../engine/experiment/checkpoints.js';
import { writeCheckpoint } from '../../../engine/models/checkpoint.js';
import type { Model } from '../../../streams/events.js';
import { Gate } from '../../../streams/gate.js';

/** An error like the one the kernel gives when the disk is full. */
function enospc(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, write');
  err.code = 'ENOSPC';
  err.syscall = 'write';
  return err;
}

/** A model whose `save` writes `files` into the checkpoint dir, then fails with `fail`. */
function fakeModel(step: number, fail?: () => Error): Model {
  return {
    step,
    async save(dir: string) {
      mkdirSync(dir, { recursive: true });
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw fail();
      writeFileSync(join(dir, 'model.json'), '{}');
    },
  } as unknown as Model;
}

describe('engine/experiment/checkpoints', () => {
  let runDir: string;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), 'pw-ckpt-'));
    mkdirSync(join(runDir, 'checkpoints'));
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('saveCheckpoint says which checkpoint failed and why, in one line', async () => {
    const err = await saveCheckpoint(fakeModel(200, enospc), runDir).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('checkpoint at step 200: no space left on device (ENOSPC)');
    expect((err?.cause as NodeJS.ErrnoException).code).to.equal('ENOSPC');
  });

  it('a checkpoint that fails while nobody awaits it is no unhandled rejection: the stream errors with the reason', async () => {
    const gate = new Gate(2);
    const checkpoints = checkpointEvery(20, fakeModel(20, enospc), runDir, gate);
    const steps = new Subject<{ step: number }>();
    const saving = lastValueFrom(steps.pipe(checkpoints.save), { defaultValue: 'done' }).then(
      () => 'completed',
      (e: Error) => e.message,
    );
    steps.next({ step: 20 });
    expect(gate.closed).to.equal(true); // training waits for the checkpoint
    // The snapshot of step 20 takes a while to sample before it asks for the checkpoint: the
    // save fails meanwhile. Before the fix that rejection was unhandled and ended the process.
    await new Promise((r) => setTimeout(r, 50));
    expect(rejections).to.deep.equal([]);
    expect(gate.closed).to.equal(false);
    expect(await saving).to.equal('checkpoint at step 20: no space left on device (ENOSPC)');
    const saved = await checkpoints.saved(20).then(
      () => 'saved',
      (e: Error) => e.message,
    );
    expect(saved).to.equal('checkpoint at step 20: no space left on device (ENOSPC)');
  });

  it('a checkpoint that saves resolves saved(step); steps between checkpoints save nothing', async () => {
    const gate = new Gate(2);
    const checkpoints = checkpointEvery(20, fakeModel(20), runDir, gate);
    const steps = new Subject<{ step: number }>();
    const saving = lastValueFrom(steps.pipe(checkpoints.save), { defaultValue: 'done' });
    steps.next({ step: 19 });
    expect(gate.closed).to.equal(false);
    steps.next({ step: 20 });
    await checkpoints.saved(20);
    steps.complete();
    expect(await saving).to.equal('done');
    expect(readdirSync(join(runDir, 'checkpoints'))).to.deep.equal(['20']);
  });

  it('writeCheckpoint on a full disk leaves no temp file and no half checkpoint', async () => {
    const dir = join(runDir, 'checkpoints', '40');
    const tensor = tf.tensor([1, 2, 3]);
    const real = fsp.writeFile;
    let calls = 0;
    // weights.bin goes in, then model.json finds the disk full (after writing half of it).
    (fsp as Record<string, unknown>).writeFile = async (file: string, data: string) => {
      if (++calls === 1) return real(file, data);
      await real(file, String(data).slice(0, 5));
      throw enospc();
    };
    syncBuiltinESMExports();
    let message = '';
    try {
      await writeCheckpoint(dir, { format: 'x', version: 1 }, [
        { name: 'w', group: 'param', tensor },
      ]);
    } catch (err) {
      message = (err as Error).message;
    } finally {
      (fsp as Record<string, unknown>).writeFile = real;
      syncBuiltinESMExports();
      tensor.dispose();
    }
    expect(calls).to.equal(2);
    expect(message).to.match(/ENOSPC/);
    expect(fs.existsSync(dir)).to.equal(false);
    expect(readdirSync(join(runDir, 'checkpoints'))).to.deep.equal([]);
  });
});
