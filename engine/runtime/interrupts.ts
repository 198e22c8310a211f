/** Ctrl-C, SIGTERM or an abort of `signal`: resolves `next` once; `dispose` drops the handlers. */
export function interrupts(signal?: AbortSignal): { next: Promise<void>; dispose(): void } {
  let fire!: () => void;
  const next = new Promise<void>((r) => (fire = r));
  process.on('SIGINT', fire);
  process.on('SIGTERM', fire);
  signal?.addEventListener('abort', fire);
  if (signal?.aborted) fire();
  return {
    next,
    dispose() {
      process.off('SIGINT', fire);
      process.off('SIGTERM', fire);
      signal?.removeEventListener('abort', fire);
    },
  };
}
