import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BACKENDS, selectBackend } from '../../../engine/backend/backend.js';

const run = promisify(execFile);

describe('selectBackend', () => {
  after(async () => {
    await selectBackend('cpu');
  });

  it('lists the accepted names in the order auto tries them', () => {
    expect(BACKENDS).to.deep.equal([
      'auto',
      'tensorflow-gpu',
      'tensorflow',
      'native',
      'wasm',
      'cpu',
    ]);
  });

  it('auto picks a working backend and reports the name tfjs uses', async () => {
    const name = await selectBackend();
    expect(['tensorflow', 'native', 'wasm', 'cpu']).to.include(name);
    expect(tf.getBackend()).to.equal(name);
  });

  it('forces cpu', async () => {
    expect(await selectBackend('cpu')).to.equal('cpu');
    expect(tf.getBackend()).to.equal('cpu');
  });

  it('forces wasm and really computes on it', async () => {
    expect(await selectBackend('wasm')).to.equal('wasm');
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]));
    expect(Array.from(await y.data())).to.deep.equal([1, 2, 3, 4]);
    y.dispose();
  });

  it('rejects an unknown name with a one-line error', async () => {
    let message = '';
    try {
      await selectBackend('webgpu');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal(
      'backend must be one of auto, tensorflow-gpu, tensorflow, native, wasm, cpu (got "webgpu")',
    );
  });

  it('says why a forced optional backend cannot start, in one line', async () => {
    let message = '';
    try {
      await selectBackend('tensorflow-gpu');
    } catch (err) {
      message = (err as Error).message;
    }
    // Passes vacuously where tfjs-node-gpu is installed and works.
    if (message !== '') {
      expect(message).to.match(/^backend "tensorflow-gpu" could not start: /);
      expect(message).not.to.include('\n');
    }
  });

  it('says on one line why auto did not use the native backend, and how to fix it', async function () {
    this.timeout(60000);
    const script =
      "import { selectBackend } from './engine/backend/backend.ts';" +
      "const a = await selectBackend('auto'); await selectBackend('auto'); console.log(a);";
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, PHASEWATCH_NATIVE: '0' } },
    );
    expect(stdout.trim()).to.equal('wasm');
    const lines = stderr.split('\n').filter((l) => l.startsWith('phasewatch:'));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(
      /^phasewatch: using the wasm backend .*PHASEWATCH_NATIVE=0 .*unset it/,
    );
  });
});
