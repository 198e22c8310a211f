#!/usr/bin/env node
// Builds the native addon (build/Release/phasewatch_native.node) with node-gyp against the
// Node-API headers of the node-api-headers package: no Node headers on the machine, no
// download. npm runs it on install; without a C++ toolchain it prints one line and the
// package runs on the wasm backend.
//
//   node native/build.mjs            build here (the install script; never fails the install)
//   node native/build.mjs --strict   build here, exit 1 on failure
//   node native/build.mjs --check    build a copy in a temp dir with an empty HOME (so an
//                                    empty node-gyp cache) and no nodedir, then load it (CI)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nodedir = path.join(root, 'native', 'gyp');
const args = process.argv.slice(2);

/** node-gyp's script: ours (a devDependency), else the one npm bundles, else PATH's. */
function nodeGyp() {
  try {
    return [
      process.execPath,
      createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'),
    ];
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    if (bundled && existsSync(bundled)) return [process.execPath, bundled];
    return ['node-gyp'];
  }
}

/** Runs `node-gyp rebuild` in `dir` against native/gyp; returns the exit status. */
function build(dir, env, stdio) {
  const clean = { ...env };
  // npm passes its config as npm_config_* variables, and node-gyp lets them override its
  // command line: a user's `nodedir` setting must not send it looking for other headers.
  for (const key of Object.keys(clean)) if (/^npm_config_nodedir$/i.test(key)) delete clean[key];
  clean.npm_package_config_node_gyp_nodedir = nodedir;
  const [cmd, ...pre] = nodeGyp();
  const r = spawnSync(cmd, [...pre, 'rebuild', `--nodedir=${nodedir}`], {
    cwd: dir,
    env: clean,
    stdio,
    shell: cmd === 'node-gyp',
  });
  return r.status ?? 1;
}

if (args.includes('--check')) {
  const dir = mkdtempSync(path.join(tmpdir(), 'phasewatch-native-build-'));
  const home = mkdtempSync(path.join(tmpdir(), 'phasewatch-home-'));
  try {
    cpSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
    cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const started = Date.now();
    const status = build(dir, { ...process.env, HOME: home, npm_config_nodedir: '' }, 'inherit');
    if (status !== 0) {
      console.error('phasewatch: the offline native build failed');
      process.exit(1);
    }
    const addon = createRequire(import.meta.url)(
      path.join(dir, 'build/Release/phasewatch_native.node'),
    );
    const ops = Object.values(addon.opTable).flat().length;
    console.log(
      `phasewatch: offline native build ok in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(empty HOME, no nodedir; ${ops} ops, ${addon.threads()} threads)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
} else {
  const strict = args.includes('--strict');
  const status = build(root, process.env, strict ? 'inherit' : ['ignore', 'ignore', 'pipe']);
  if (status !== 0) {
    const msg =
      'phasewatch: the native kernels did not build (node-gyp needs python3, make and g++); ' +
      'using the wasm backend, ≈ 8× slower. After installing them: npm rebuild phasewatch';
    console.warn(msg);
    process.exit(strict ? 1 : 0);
  }
}
