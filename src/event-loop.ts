// Long CPU work (counting a large batch's tokens, precomputing many contexts) yields now and then: Node and a Worker
// isolate run every request on one thread, so a loop that never yields holds up /healthz and every small query.

type Immediate = (callback: () => void) => unknown;

/** Resolves once pending I/O and timers had a turn: setImmediate on Node, a zero-delay timer elsewhere (Workers). */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * For a loop of units of uneven cost: `await pace()` before each unit yields once `every` units or `sliceMs` of work
 * have passed since the last yield, whichever comes first. Workers stop the clock while code runs, so there the count
 * decides. A loop that ends within its slice never yields.
 */
export function pacer(opts: { every?: number; sliceMs?: number } = {}): () => Promise<void> {
  const every = opts.every ?? 16;
  const sliceMs = opts.sliceMs ?? 20;
  let units = 0;
  let since = performance.now();
  return async () => {
    if (++units <= every && performance.now() - since < sliceMs) return;
    await yieldToEventLoop();
    units = 1;
    since = performance.now();
  };
}
