#!/usr/bin/env node
// The `phasewatch` command. The CLI runs in this very process (no child), so SIGINT and
// SIGTERM reach the run, which is stored as stopped, and the port is freed on exit.
// In a clone (the TypeScript sources beside this file) it runs them through tsx, registered
// for the whole process as the test runner does (`--import tsx`), so it is never stale and
// every module — the CLI's resolve hook, a script's imports — loads as in the tests; an
// installed package has only the build in dist/ and runs that.
import { existsSync } from 'node:fs';

const source = new URL('./cli.ts', import.meta.url);
if (existsSync(source)) (await import('tsx/esm/api')).register();
const cli = await import(
  existsSync(source) ? source.href : new URL('../../dist/engine/cli/cli.js', import.meta.url).href
);
const code = await cli.main(process.argv.slice(2));
process.exit(code);
