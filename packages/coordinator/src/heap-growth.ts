import { setFlagsFromString } from "node:v8";

/**
 * How far past what was live at its last full collection V8 lets a coordinator's old generation
 * grow before it collects again, in percent. V8 chooses this factor itself, up to 4× on a machine
 * with gigabytes of memory, and a coordinator's old generation is mostly garbage of a short life
 * that outlived the young generation (replies held across a round trip to a busy Redis): at
 * 10,000 agents about 30 MB was live while the heap held 85–115 MB. A fixed 25% keeps the heap
 * near its live size for about the same CPU (`pnpm bench:fleet`, docs/operations.md).
 */
const HEAP_GROWING_PERCENT = 25;

/**
 * Sets V8's heap growing factor for this process, unless its command line already sets one (an
 * operator's `node --heap-growing-percent=N`). Only the coordinator's own process calls this: a
 * library must not tune the garbage collector of the application that embeds it.
 */
export function boundHeapGrowth(): boolean {
  if (setsHeapGrowth(process.execArgv)) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/** Whether node's command line (its `process.execArgv`) sets the heap growing factor. */
export function setsHeapGrowth(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}
