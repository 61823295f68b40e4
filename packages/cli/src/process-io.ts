import type { Io, Terminal } from "./context.js";

/** Keys from a raw-mode stdin; stdin is paused again (so the process can end) once nobody listens. */
function stdinTerminal(): Terminal {
  return {
    columns: () => process.stdout.columns ?? 0,
    onKey: (listener) => {
      const onData = (data: Buffer) => listener(data.toString("utf8"));
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on("data", onData);
      return () => {
        process.stdin.off("data", onData);
        process.stdin.setRawMode(false);
        process.stdin.pause();
      };
    },
  };
}

export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  terminal: process.stdout.isTTY && process.stdin.isTTY ? stdinTerminal() : undefined,
  onInterrupt: (stop) => {
    process.on("SIGINT", stop);
    return () => void process.off("SIGINT", stop);
  },
};
