#!/usr/bin/env node
import { main } from "./main.js";

// `worksteal agents | head -1`: a closed pipe ends the command quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Connections are closed by main; should anything linger, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`worksteal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
