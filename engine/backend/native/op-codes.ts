/**
 * The op codes of the addon's multi-op entry points (`binary`, `unary`, `reduce`): one list
 * per entry point, each op named by the tfjs kernel it implements, its code its position.
 * This file is the single source: `npm run gen:native` writes `native/ops_generated.h` from
 * it (enums and the name tables the addon reports), a spec checks that the header is current,
 * and the loader refuses an addon whose reported table differs (a stale build).
 */
export const NATIVE_OPS = {
  binary: ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum'],
  unary: [
    'Neg',
    'Square',
    'Sqrt',
    'Rsqrt',
    'Exp',
    'Log',
    'Erf',
    'Abs',
    'Relu',
    'Sigmoid',
    'Tanh',
    'Reciprocal',
    'ClipByValue',
  ],
  reduce: ['Sum', 'Mean', 'Max', 'Min'],
} as const;

export type NativeOpGroup = keyof typeof NATIVE_OPS;
export type BinaryOpName = (typeof NATIVE_OPS.binary)[number];
export type UnaryOpName = (typeof NATIVE_OPS.unary)[number];
export type ReduceOpName = (typeof NATIVE_OPS.reduce)[number];

/**
 * The code of `name` in `group`.
 * @example opCode('binary', 'Multiply') // 2
 */
export function opCode<G extends NativeOpGroup>(
  group: G,
  name: (typeof NATIVE_OPS)[G][number],
): number {
  return (NATIVE_OPS[group] as readonly string[]).indexOf(name);
}
