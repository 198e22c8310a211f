import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  loadNativeAddon,
  nativeUnavailableReason,
  opTableMismatch,
} from '../../../engine/backend/native/addon.js';
import { NATIVE_OPS, opCode } from '../../../engine/backend/native/op-codes.js';
import { OPS_HEADER, renderOpsHeader } from '../../../native/gen-ops.js';

describe('native addon: one op table for TypeScript and C++', () => {
  it('native/ops_generated.h is what native/gen-ops.ts makes of op-codes.ts', () => {
    expect(readFileSync(OPS_HEADER, 'utf8')).to.equal(renderOpsHeader());
  });

  it('gives each op its position in its list', () => {
    expect(opCode('binary', 'Add')).to.equal(0);
    expect(opCode('unary', 'ClipByValue')).to.equal(NATIVE_OPS.unary.length - 1);
    expect(opCode('reduce', 'Max')).to.equal(2);
  });

  it('refuses an addon built from another table, saying where it differs', () => {
    const table = {
      binary: [...NATIVE_OPS.binary],
      unary: [...NATIVE_OPS.unary],
      reduce: [...NATIVE_OPS.reduce],
    };
    expect(opTableMismatch(table)).to.equal('');
    expect(opTableMismatch(undefined)).to.equal('it reports none');
    expect(opTableMismatch({ ...table, reduce: ['Sum', 'Max', 'Mean', 'Min'] })).to.equal(
      'reduce: Sum,Max,Mean,Min',
    );
    expect(opTableMismatch({ ...table, unary: undefined })).to.equal('unary: missing');
  });

  describe('the built addon', function () {
    before(function () {
      if (!loadNativeAddon()) this.skip();
    });

    it('reports the same op table by name', () => {
      const addon = loadNativeAddon();
      expect(addon?.opTable).to.deep.equal({
        binary: [...NATIVE_OPS.binary],
        unary: [...NATIVE_OPS.unary],
        reduce: [...NATIVE_OPS.reduce],
      });
      expect(nativeUnavailableReason()).to.equal('');
    });

    it('answers a bad argument with one TypeError naming the entry and the problem', () => {
      const addon = loadNativeAddon();
      if (!addon) return;
      const f = new Float32Array(4);
      expect(() => addon.gelu(f, new Float32Array(2))).to.throw(
        TypeError,
        'phasewatch_native.gelu: output too short',
      );
      expect(() => addon.conv2d(f, f, f, new Int32Array(3))).to.throw(
        TypeError,
        'phasewatch_native.conv2d: wrong number of parameters',
      );
      expect(() => addon.unary(99, f, f)).to.throw(
        TypeError,
        'phasewatch_native.unary: bad op or sizes',
      );
      expect(() =>
        addon.binary(
          0,
          f,
          new Int32Array([4]),
          'x' as unknown as Float32Array,
          new Int32Array([4]),
          f,
          new Int32Array([4]),
        ),
      ).to.throw(TypeError, 'phasewatch_native.binary: expected a Float32Array argument');
      expect(() => addon.concat([f], [4, 4], 1, f)).to.throw(
        TypeError,
        'phasewatch_native.concat: bad arguments',
      );
      expect(() =>
        addon.adamEma([f], [f], [f], [f], [new Float32Array(3)], new Float32Array(10)),
      ).to.throw(TypeError, "phasewatch_native.adamEma: a tensor's arrays differ in length");
      // A 1×2×2×1 block through 1 middle channel: every array 4 floats, 3×3 filters 9.
      const geom = Int32Array.of(1, 2, 2, 1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1);
      const w = new Float32Array(9);
      const block = (params: Int32Array, x = f) =>
        addon.convBlock(x, w, f, f, w, f, f, f, f, f, f, f, f, f, f, geom, geom, params, 1e-5);
      expect(() => block(Int32Array.of(1, 1, 0, 0, 1))).not.to.throw();
      expect(() => block(Int32Array.of(1, 1, 1, 1, 1))).to.throw(
        TypeError,
        "phasewatch_native.convBlock: a residual block keeps its input's shape and has no bias",
      );
      expect(() => block(Int32Array.of(2, 1, 0, 0, 1))).to.throw(
        TypeError,
        'phasewatch_native.convBlock: conv2 does not follow conv1, or the groups do not divide the channels',
      );
      expect(() => block(Int32Array.of(1, 1, 0, 0, 1), new Float32Array(3))).to.throw(
        TypeError,
        'phasewatch_native.convBlock: array too short for its shape',
      );
    });

    it('computes through the table-driven entries', () => {
      const addon = loadNativeAddon();
      if (!addon) return;
      const a = Float32Array.of(1, 2, 3, 4);
      const b = Float32Array.of(10);
      const out = new Float32Array(4);
      addon.binary(
        opCode('binary', 'Multiply'),
        a,
        Int32Array.of(4),
        b,
        Int32Array.of(1),
        out,
        Int32Array.of(4),
      );
      expect([...out]).to.deep.equal([10, 20, 30, 40]);
      addon.unary(opCode('unary', 'ClipByValue'), a, out, 1.5, 3.5);
      expect([...out]).to.deep.equal([1.5, 2, 3, 3.5]);
      const sum = new Float32Array(1);
      addon.reduce(opCode('reduce', 'Sum'), a, Int32Array.of(4), Int32Array.of(1), sum);
      expect(sum[0]).to.equal(10);
    });
  });
});
