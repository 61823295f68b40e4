/** What the reports of the benches and soaks share. */
import { cpus } from "node:os";

/** The machine a figure was measured on, for the report beside it. */
export function describeMachine(): string {
  return `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown cpu"}, node ${process.version}`;
}

/** The `--json` result: one object, one line, on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A progress line for people: on stderr, so that `--json` keeps stdout to the result alone. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}
