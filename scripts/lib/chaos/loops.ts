import { sleep } from "@worksteal/testkit";

/** Background loops of the soak: each runs its body, then waits, until stopped; a failed round is reported and the loop goes on. */
export class Loops {
  private running = true;
  private readonly loops: Array<Promise<void>> = [];

  constructor(private readonly progress: (line: string) => void) {}

  every(name: string, everyMs: number, body: () => Promise<void>): void {
    this.loops.push(
      (async () => {
        while (this.running) {
          await body().catch((error: Error) => this.progress(`${name}: ${error.message}`));
          await sleep(everyMs);
        }
      })(),
    );
  }

  /** Stops every loop after its current round. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
