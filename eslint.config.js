import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What plain Node scripts (.js, .mjs) may use without importing. */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'URL',
    'URLSearchParams',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'queueMicrotask',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

/**
 * The layers and what each may not import (docs/architecture.md): data flows one way,
 * streams → operators → engine, and the browser code (dashboard/, common/) never loads Node's.
 */
const layer = (name) => ({
  regex: `(^|/)${name}(/|$)`,
  message: `crosses a layer boundary: ${name}/ is off limits here (docs/architecture.md)`,
});
const nodeBuiltins = {
  regex: '^node:',
  message: 'browser code: no Node built-ins (docs/architecture.md)',
};
const boundaries = [
  {
    files: ['streams/**/*.ts'],
    patterns: [layer('operators'), layer('engine'), layer('dashboard'), layer('common')],
  },
  { files: ['operators/**/*.ts'], patterns: [layer('engine'), layer('dashboard')] },
  {
    files: ['common/**/*.ts'],
    patterns: [layer('operators'), layer('engine'), layer('dashboard'), nodeBuiltins],
  },
  { files: ['engine/**/*.ts', 'engine/**/*.js'], patterns: [layer('dashboard')] },
  // inside engine/: the library rooms (runtime, backend, models, store) below the rooms that
  // use them (export, server, experiment), distributed above experiment, cli on top
  ...[
    [
      ['runtime', 'backend', 'models', 'store'],
      ['export', 'server', 'experiment', 'distributed', 'cli'],
    ],
    [
      ['export', 'server'],
      ['export', 'server', 'experiment', 'distributed', 'cli'],
    ],
    [['experiment'], ['export', 'server', 'distributed', 'cli']],
    [['distributed'], ['cli']],
  ].map(([rooms, above]) => ({
    files: rooms.map((r) => `engine/${r}/**/*.ts`),
    patterns: ['dashboard', ...above].map(layer),
  })),
  { files: ['dashboard/**/*.ts'], patterns: [layer('operators'), layer('engine'), nodeBuiltins] },
  // the package root re-exports every layer but the browser's
  { files: ['index.ts'], patterns: [layer('dashboard')] },
  // examples are compositions a user could have written: the package's public API only
  {
    files: ['examples/**/*.ts'],
    patterns: ['streams', 'operators', 'engine', 'common', 'dashboard'].map(layer),
  },
].map(({ files, patterns }) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
}));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'runs/',
      'build/',
      'dist/',
      'docs/api/',
      'dashboard/dist/',
      'native/build/',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The library, the CLI and the server: type-aware rules, typed with the Node config.
    files: ['index.ts', 'engine/**/*.ts', 'operators/**/*.ts', 'streams/**/*.ts', 'common/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.node.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  ...boundaries,
);
