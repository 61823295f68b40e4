/** Longest error message a log line carries. */
const MAX_MESSAGE_CHARS = 500;

/**
 * What a log line says of an error: its name, code and the start of its message. Never the
 * error object itself: ioredis attaches the failed command with all its arguments (a fold batch,
 * megabytes), which pino would print whole.
 */
export function errorSummary(error: unknown): { name: string; message: string; code?: string | number } {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error).slice(0, MAX_MESSAGE_CHARS) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message.slice(0, MAX_MESSAGE_CHARS),
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
  };
}
