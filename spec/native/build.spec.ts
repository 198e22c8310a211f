import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-expect-error: a plain .mjs script, no types
import { failureCause, findPython } from '../../native/build.mjs';

const find = findPython as (env: NodeJS.ProcessEnv) => { python?: string; tried: string[] };
const cause = failureCause as (output: string) => string;

describe('native/build.mjs', function () {
  this.timeout(120_000);
  let dir = '';
  let fakeBin = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pw-native-build-'));
    // A python3 that does not run, first on PATH (a pyenv shim whose version is missing).
    fakeBin = path.join(dir, 'fake-bin');
    mkdirSync(fakeBin);
    writeFileSync(
      path.join(fakeBin, 'python3'),
      '#!/bin/sh\necho "pyenv: python3: command not found" >&2\nexit 1\n',
    );
    chmodSync(path.join(fakeBin, 'python3'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tells the cause from node-gyp’s output: its own error lines, not the boilerplate', () => {
    const output = [
      'gyp info it worked if it ends with ok',
      'gyp ERR! build error ',
      'gyp ERR! stack Error: `make` failed with exit code: 2',
      'gyp ERR! stack     at ChildProcess.<anonymous> (/x/node-gyp/lib/build.js:216:23)',
      'gyp ERR! System Linux 6.1.0',
      'gyp ERR! command "/usr/bin/node" "/x/node-gyp.js" "rebuild"',
      'gyp ERR! cwd /work/p',
      'gyp ERR! node -v v22.1.0',
      'gyp ERR! node-gyp -v v12.4.0',
      'gyp ERR! not ok ',
    ].join('\n');
    expect(cause(output)).to.equal('Error: `make` failed with exit code: 2 | build error');
    const compiler = [
      '../native/addon.cc:3:2: error: #error broken',
      'make: *** [addon.target.mk:120: Release/obj.target/addon.o] Error 1',
      'gyp ERR! build error ',
    ].join('\n');
    expect(cause(compiler)).to.equal(
      '../native/addon.cc:3:2: error: #error broken | build error | make: *** [addon.target.mk:120: Release/obj.target/addon.o] Error 1',
    );
    expect(cause('something else\nlast words\n')).to.equal('last words');
  });

  it('passes over a python3 that does not run for one that does', function () {
    const { python, tried } = find({ ...process.env, PATH: `${fakeBin}:${process.env.PATH}` });
    if (!python) this.skip(); // no python3 on this machine at all
    expect(python).not.to.equal(path.join(fakeBin, 'python3'));
    expect(tried[0]).to.equal(
      `${path.join(fakeBin, 'python3')} (exit 1: pyenv: python3: command not found)`,
    );
  });

  it('a failing build prints one line with node-gyp’s cause (a broken python3 first on PATH)', () => {
    // A copy whose one source does not compile: fails in seconds, never touches build/ here.
    const copy = path.join(dir, 'copy');
    mkdirSync(path.join(copy, 'native'), { recursive: true });
    cpSync(path.resolve('native/build.mjs'), path.join(copy, 'native/build.mjs'));
    cpSync(path.resolve('native/gyp'), path.join(copy, 'native/gyp'), { recursive: true });
    symlinkSync(path.resolve('node_modules'), path.join(copy, 'node_modules'));
    writeFileSync(path.join(copy, 'package.json'), '{"name": "copy", "private": true}');
    writeFileSync(
      path.join(copy, 'binding.gyp'),
      '{ "targets": [ { "target_name": "broken", "sources": ["native/broken.cc"] } ] }',
    );
    writeFileSync(path.join(copy, 'native/broken.cc'), '#error phasewatch spec: broken source\n');
    const r = spawnSync(process.execPath, [path.join(copy, 'native/build.mjs')], {
      cwd: copy,
      env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, PYTHON: '' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0); // an install never fails over it
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^phasewatch: the native kernels did not build: /);
    expect(lines[0]).to.include('error: #error phasewatch spec: broken source');
    expect(lines[0]).not.to.include('needs python3');
  });
});
