/** The distributed subcommands' lines of `phasewatch --help` (no imports: the CLI loads BullMQ only when one runs). */
export const DISTRIBUTED_USAGE = [
  '  phasewatch worker --redis URL [--concurrency N] [--runs DIR] [--queue NAME] [--lock-ms N] [--stalled-ms N] [--max-len N]',
  '  phasewatch sweep <grid.ts> [--redis URL [--queue NAME] [--detach]] [--runs DIR] [--concurrency N]',
  '  phasewatch serve [runsDir] --redis URL [--group NAME] [--port N] [--host H] [--token T]',
];

/** True when `argv` names a distributed subcommand: `worker`, `sweep`, or `serve` with `--redis`. */
export function isDistributedCommand(argv: string[]): boolean {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === 'worker' || first === 'sweep') return true;
  return first === 'serve' && argv.some((a) => a === '--redis' || a.startsWith('--redis='));
}
