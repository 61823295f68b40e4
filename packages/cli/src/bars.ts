/** Running tasks are drawn solid, queued ones shaded: `▓▓▓███░░` is 3 running and 3 queued of 8. */
const RUNNING = "█";
const QUEUED = "▒";
const EMPTY = "·";

export const BAR_LEGEND = `${RUNNING} running  ${QUEUED} queued`;

/**
 * A bar `width` cells wide for `running` and `queued` tasks on a scale of `scale` tasks, so
 * bars of different agents (and of successive frames) compare. A count past the scale fills the
 * bar and ends it with `+`; a count of at least one always shows at least one cell.
 */
export function loadBar(running: number, queued: number, scale: number, width: number): string {
  const cells = (n: number) => (n <= 0 ? 0 : Math.max(1, Math.round((n / scale) * width)));
  const run = Math.min(width, cells(running));
  const queue = Math.min(width - run, cells(queued));
  const over = Math.max(0, running) + Math.max(0, queued) > scale;
  const bar = RUNNING.repeat(run) + QUEUED.repeat(queue) + EMPTY.repeat(width - run - queue);
  return over ? `${bar.slice(0, -1)}+` : bar;
}

/**
 * A scale that only grows, in steps of 10, 20, 50, 100, … from 10: bars keep their meaning from one
 * frame to the next instead of rescaling on every change.
 */
export function barScale(previous: number, largest: number): number {
  // At least 10, also for an idle fleet: a scale of 0 would draw nothing.
  if (largest <= previous && previous > 0) return previous;
  for (let decade = 10; ; decade *= 10) {
    for (const step of [1, 2, 5]) if (step * decade >= largest) return step * decade;
  }
}
