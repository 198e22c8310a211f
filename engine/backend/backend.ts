import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { nativeUnavailableReason } from './native/addon.js';
import { registerNativeBackend } from './native/backend.js';
import { fixCpuResizeNearestGrad } from './resize-nearest-grad.js';

/** Backend names accepted by `selectBackend`, in the order `auto` tries them. */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const loaders: Record<Exclude<BackendName, 'auto'>, () => Promise<string>> = {
  'tensorflow-gpu': () => loadTfjsNode('@tensorflow/tfjs-node-gpu'),
  tensorflow: () => loadTfjsNode('@tensorflow/tfjs-node'),
  native: loadNative,
  wasm: loadWasm,
  cpu: async () => {
    fixCpuResizeNearestGrad();
    return activate('cpu');
  },
};

/**
 * Picks and initialises a tfjs backend and returns the name tfjs uses for it
 * ('tensorflow', 'native', 'wasm' or 'cpu').
 * @example const name = await selectBackend(); // e.g. 'wasm'
 */
// `string & {}` keeps the names in editors' completions while any string type-checks (and is
// then validated, with a one-line error).
export async function selectBackend(name: BackendName | (string & {}) = 'auto'): Promise<string> {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`backend must be one of ${BACKENDS.join(', ')} (got "${name}")`);
  }
  if (name === 'auto') {
    for (const candidate of BACKENDS.slice(1) as Exclude<BackendName, 'auto'>[]) {
      try {
        const chosen = await loaders[candidate]();
        if (candidate === 'wasm' || candidate === 'cpu') warnSlowBackend(chosen);
        return chosen;
      } catch {
        // Optional backends are expected to be missing; try the next one.
      }
    }
    throw new Error('backend "auto" could not start: no tfjs backend initialised');
  }
  try {
    return await loaders[name as Exclude<BackendName, 'auto'>]();
  } catch (err) {
    throw new Error(`backend "${name}" could not start: ${oneLine(err)}`, { cause: err });
  }
}

let warnedSlow = false;

/**
 * One line on stderr (once per process) when `auto` ends on a backend slower than 'native':
 * why the native backend is not used and how to fix it.
 */
function warnSlowBackend(chosen: string): void {
  if (warnedSlow) return;
  warnedSlow = true;
  process.stderr.write(
    `phasewatch: using the ${chosen} backend (≈ 8× slower than native): ${nativeUnavailableReason()}\n`,
  );
}

/**
 * Why the 'native' backend cannot be used here, on one line with the fix; '' when it can.
 * @example const why = nativeBackendUnavailable(); if (why) console.warn(why);
 */
export function nativeBackendUnavailable(): string {
  return nativeUnavailableReason();
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

async function activate(tfName: string): Promise<string> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
    await tf.ready();
  } catch (err) {
    throw new Error(`tfjs backend "${tfName}" failed to initialise: ${oneLine(err)}`, {
      cause: err,
    });
  }
  if (!ok || tf.getBackend() !== tfName) {
    throw new Error(`tfjs backend "${tfName}" failed to initialise`);
  }
  // Prove the backend really computes before reporting it.
  const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
  const value = (await probe.data())[0];
  probe.dispose();
  if (value !== 3) throw new Error(`tfjs backend "${tfName}" computed 1+2=${value}`);
  return tfName;
}

async function loadTfjsNode(pkg: string): Promise<string> {
  // A variable specifier keeps TypeScript from requiring the optional package at compile time.
  const specifier: string = pkg;
  await import(specifier);
  return activate('tensorflow');
}

async function loadNative(): Promise<string> {
  if (!registerNativeBackend()) throw new Error(nativeUnavailableReason());
  return activate('native');
}

async function loadWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries must be given as a directory path with a trailing separator.
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
  wasm.setWasmPaths(dir);
  return activate('wasm');
}
