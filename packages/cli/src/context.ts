import type { Config } from "@worksteal/protocol";
import type { Store } from "@worksteal/store";

/** A terminal on both ends: `watch` redraws in place and reads keys from it. */
export interface Terminal {
  /** Width in characters; 0 when the terminal does not say. */
  columns: () => number;
  /** Calls `listener` with each key pressed (raw mode) until the returned function is called. */
  onKey: (listener: (key: string) => void) => () => void;
}

/** Where the command writes; tests pass their own to capture output in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Present when stdin and stdout are a terminal. */
  terminal?: Terminal;
  /** Calls `stop` on Ctrl-C until the returned function is called; commands that run until stopped use it. */
  onInterrupt?: (stop: () => void) => () => void;
}

export interface CommandContext {
  store: Store;
  config: Config;
  json: boolean;
  io: Io;
  /** stdout, with a newline. */
  out: (text: string) => void;
  /** stderr, one line prefixed `worksteal: `. */
  err: (text: string) => void;
}

/** Exit codes: 0 ok, 1 a thing asked for does not exist or failed, 2 usage or connection error. */
export const EXIT = { ok: 0, notFound: 1, failure: 1, usage: 2 } as const;
