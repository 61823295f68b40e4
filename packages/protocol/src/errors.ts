/**
 * The base of every error worksteal throws on purpose: `error instanceof WorkstealError` tells
 * the project's own refusals and failures from a bug or a library's error.
 */
export class WorkstealError extends Error {
  override name = "WorkstealError";
}
