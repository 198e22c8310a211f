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
import {
  accessSync,
  constants,
  cpSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  existsSync,
} from 'node:fs';
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

/**
 * A python3 that runs, for node-gyp: each `python3` on PATH in turn (a pyenv shim whose
 * selected version is missing, or any broken one, is passed over), then /usr/bin/python3.
 * Returns its real executable (not a shim: node-gyp links it into build/node_gyp_bins for
 * make) and what was tried.
 */
export function findPython(env) {
  const tried = [];
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const candidates = [...dirs.map((d) => path.join(d, 'python3')), '/usr/bin/python3'];
  for (const exe of [...new Set(candidates)]) {
    try {
      accessSync(exe, constants.X_OK);
    } catch {
      continue;
    }
    const r = spawnSync(
      exe,
      ['-c', 'import sys; assert sys.version_info >= (3, 6); sys.stdout.write(sys.executable)'],
      { env, encoding: 'utf8', timeout: 20_000 },
    );
    const real = r.status === 0 ? r.stdout.trim() : '';
    if (real && existsSync(real)) return { python: real, tried };
    const why = (r.stderr || r.error?.message || '').trim().split('\n').pop();
    tried.push(`${exe} (exit ${r.status ?? r.signal}${why ? `: ${why}` : ''})`);
  }
  return { python: undefined, tried };
}

const BOILERPLATE =
  /^gyp ERR! (System|command|cwd|node -v|node-gyp -v|not ok|stack\s+at |stack\s*$)/;

/**
 * The cause of a failed node-gyp run in a few words: its own `gyp ERR!` lines (not the
 * boilerplate that follows every failure: System, command, cwd, versions, stack frames), a
 * compiler's `error:` lines and make's `***` line, at most three, else its last line.
 */
export function failureCause(output) {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const said = lines.filter(
    (l) => (/^gyp ERR! /.test(l) && !BOILERPLATE.test(l)) || /\berror:|^make: \*\*\*/.test(l),
  );
  // The compiler's and node-gyp's own words first: make's line only repeats that it failed.
  const ranked = [
    ...said.filter((l) => /\berror:/.test(l)),
    ...said.filter((l) => /^gyp ERR! stack Error:/.test(l)),
    ...said.filter((l) => /^gyp ERR! (?!stack Error:)/.test(l)),
    ...said.filter((l) => /^make: \*\*\*/.test(l)),
  ];
  const picked = [...new Set(ranked)].slice(0, 3);
  const text = (picked.length > 0 ? picked : lines.slice(-1))
    .map((l) => l.replace(/^gyp ERR! (stack )?/, ''))
    .join(' | ');
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}

/** Runs `node-gyp rebuild` in `dir` against native/gyp; returns its status and output. */
function build(dir, env, stdio) {
  const clean = { ...env };
  const { python, tried } =
    env.PYTHON || env.npm_config_python ? { python: undefined, tried: [] } : findPython(env);
  if (python) clean.PYTHON = python;
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
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  let cause = r.error ? `${cmd}: ${r.error.message}` : failureCause(output);
  if (!python && tried.length > 0)
    cause = `no python3 that runs (tried ${tried.join(', ')}); ${cause}`;
  return { status: r.status ?? 1, cause };
}

// Run as a script (npm's install, build:native); imported (the spec), it only defines.
const isMain =
  Boolean(process.argv[1]) && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (isMain && args.includes('--check')) {
  const dir = mkdtempSync(path.join(tmpdir(), 'phasewatch-native-build-'));
  const home = mkdtempSync(path.join(tmpdir(), 'phasewatch-home-'));
  try {
    cpSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
    cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const started = Date.now();
    const { status } = build(
      dir,
      { ...process.env, HOME: home, npm_config_nodedir: '' },
      'inherit',
    );
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
} else if (isMain) {
  const strict = args.includes('--strict');
  const { status, cause } = build(
    root,
    process.env,
    strict ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  );
  if (status !== 0) {
    // Under --strict node-gyp's output went by above; otherwise its cause is all it says.
    const why = strict ? "node-gyp's output above says why" : cause;
    console.warn(
      `phasewatch: the native kernels did not build: ${why}. ` +
        'Using the wasm backend, ≈ 8× slower; once fixed: npm rebuild phasewatch',
    );
    process.exit(strict ? 1 : 0);
  }
}
