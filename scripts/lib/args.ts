/**
 * The scripts' command lines: node:util's parseArgs reads them, zod checks the values, and one
 * table of options gives both the parsed, typed arguments and the `--help` text. A bad argument
 * is one line on stderr naming the option, and exit code 2.
 */
import { parseArgs } from "node:util";
import { z } from "zod";

export interface OptionSpec<T> {
  /** parseArgs's type: a "boolean" option is a flag and takes no value. */
  readonly type: "string" | "boolean";
  readonly default?: string;
  /** Checks (and coerces) the text given, or the default. */
  readonly schema: z.ZodType<T>;
  /** What the value stands for in `--help`: `--tasks N`. */
  readonly valueName?: string;
  readonly help: string;
}

/** An option that takes a value: the text given (or `default`) goes through `schema`. */
export function option<T>(schema: z.ZodType<T>, settings: { default?: string; valueName?: string; help: string }): OptionSpec<T> {
  return { type: "string", schema, ...settings };
}

/** A flag: true when given. */
export function flag(help: string): OptionSpec<boolean> {
  return { type: "boolean", schema: z.boolean(), help };
}

/** The `--json` of every bench and soak. */
export const JSON_FLAG = flag("print only the result, as one JSON object on stdout");

export type Options = Record<string, OptionSpec<unknown>>;

export interface Command<O extends Options> {
  /** As messages name the script: `bench:steal`. */
  readonly name: string;
  /** How it is run: `pnpm bench:steal`. */
  readonly usage: string;
  /** What it does, for `--help`. */
  readonly summary: string;
  readonly options: O;
}

export type ArgsOf<O extends Options> = { [K in keyof O]: O[K] extends OptionSpec<infer T> ? T : never };

/** A command line that cannot be run; the message names the option. */
export class UsageError extends Error {}

/** The arguments, or "help" when `--help` was asked for. Throws UsageError on a bad one. */
export function parseCommandLine<O extends Options>(command: Command<O>, argv: readonly string[]): ArgsOf<O> | "help" {
  let values: Record<string, unknown>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(
          Object.entries(command.options).map(([name, o]) => [name, { type: o.type, default: o.default ?? (o.type === "boolean" ? false : undefined) }]),
        ),
        help: { type: "boolean", default: false },
      },
    });
    values = parsed.values;
  } catch (error) {
    // parseArgs's first sentence names the option ("Unknown option '--foo'"); the rest is advice about positionals.
    throw new UsageError(`${(error as Error).message.split(". ")[0]} (--help lists the options)`);
  }
  if (values.help === true) return "help";
  delete values.help;
  const schema = z.object(Object.fromEntries(Object.entries(command.options).map(([name, o]) => [name, o.schema])));
  const checked = schema.safeParse(values);
  if (!checked.success) throw new UsageError(checked.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join("; "));
  return checked.data as ArgsOf<O>;
}

export function helpText(command: Command<Options>): string {
  const rows = Object.entries(command.options).map(([name, o]) => {
    const left = o.type === "boolean" ? `--${name}` : `--${name} ${o.valueName ?? "VALUE"}`;
    return [left, o.default ? `${o.help} (default ${o.default})` : o.help] as const;
  });
  rows.push(["--help", "print this text"]);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `usage: ${command.usage} [options]`,
    "",
    command.summary,
    "",
    "options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "",
  ].join("\n");
}

/** A failure the script foresees (no Redis, say): its message is all a reader needs, and it has its own exit code. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Runs a script: parses its command line (printing `--help`, or the one line of a bad argument
 * with exit code 2), runs `main` and exits with the code it returns. An error out of `main` is
 * printed after the script's name: an ExitError as its message, with its code; anything else
 * with its stack, exit code 1. The exit is explicit because a library's connection or timer
 * left open must not keep a finished script alive.
 */
export async function runScript<O extends Options>(command: Command<O>, main: (args: ArgsOf<O>) => Promise<number>): Promise<never> {
  process.exit(await outcome(command, main));
}

async function outcome<O extends Options>(command: Command<O>, main: (args: ArgsOf<O>) => Promise<number>): Promise<number> {
  let args: ArgsOf<O> | "help";
  try {
    args = parseCommandLine(command, process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${command.name}: ${error.message}\n`);
    return 2;
  }
  if (args === "help") {
    process.stdout.write(helpText(command));
    return 0;
  }
  try {
    return await main(args);
  } catch (error) {
    const text = error instanceof ExitError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${command.name}: ${text}\n`);
    return error instanceof ExitError ? error.exitCode : 1;
  }
}
