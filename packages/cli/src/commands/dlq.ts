import { type DeadLetter, dropDeadLetter, listDeadLetters, readDeadLetter, replayDeadLetter } from "@worksteal/store";
import { EXIT, type CommandContext } from "../context.js";
import { formatTime, truncate } from "../format.js";
import { formatPairs, formatTable } from "../table.js";

export const DEFAULT_DLQ_LIMIT = 20;

const timeOf = (id: string) => formatTime(Number(id.split("-")[0]));

/** The copied entry as `name=value` pairs on one line. */
function entryText(letter: DeadLetter): string {
  const pairs: string[] = [];
  for (let i = 0; i + 1 < letter.fields.length; i += 2) pairs.push(`${letter.fields[i]}=${letter.fields[i + 1]}`);
  return pairs.join(" ");
}

export function deadLettersTable(letters: readonly DeadLetter[]): string {
  return formatTable(
    ["ID", "AT", "SOURCE", "REASON", "ENTRY"],
    letters.map((l) => [l.id, timeOf(l.id), l.sourceId, truncate(l.reason, 60), truncate(entryText(l), 60)]),
  );
}

export async function runDlqList(ctx: CommandContext, limit: number, before: string | undefined): Promise<number> {
  const letters = await listDeadLetters(ctx.store, limit, before);
  if (ctx.json) ctx.out(JSON.stringify(letters));
  else if (letters.length === 0) ctx.out(`no dead letters in namespace ${ctx.store.namespace}${before === undefined ? "" : ` before ${before}`}`);
  else {
    ctx.out(deadLettersTable(letters));
    if (letters.length === limit) ctx.out(`more: worksteal dlq list --before ${letters[letters.length - 1]!.id}`);
  }
  return EXIT.ok;
}

const missing = (ctx: CommandContext, id: string) => {
  ctx.err(`dead letter ${id} not found`);
  return EXIT.notFound;
};

export async function runDlqShow(ctx: CommandContext, id: string): Promise<number> {
  const letter = await readDeadLetter(ctx.store, id);
  if (letter === undefined) return missing(ctx, id);
  if (ctx.json) {
    ctx.out(JSON.stringify(letter));
    return EXIT.ok;
  }
  const fields: Array<[string, string]> = [];
  for (let i = 0; i + 1 < letter.fields.length; i += 2) fields.push([`  ${letter.fields[i]}`, letter.fields[i + 1]!]);
  ctx.out(
    formatPairs([
      ["id", `${letter.id} (${timeOf(letter.id)})`],
      ["source", `${letter.sourceId} (${timeOf(letter.sourceId)})`],
      ["reason", letter.reason],
      ["fields", `${letter.fieldCount}${letter.fields.length / 2 < letter.fieldCount ? ` (${letter.fields.length / 2} kept)` : ""}`],
      ...fields,
    ]),
  );
  return EXIT.ok;
}

/** Re-appends the entry if it now parses; exit 1, saying why, if it still does not. */
export async function runDlqReplay(ctx: CommandContext, id: string): Promise<number> {
  const result = await replayDeadLetter(ctx.store, id);
  if (result === undefined) return missing(ctx, id);
  if (!result.replayed) {
    ctx.err(`dead letter ${id} not replayed: ${result.reason}`);
    return EXIT.failure;
  }
  if (ctx.json) ctx.out(JSON.stringify({ id, replayed: true, eventId: result.eventId }));
  else ctx.out(`dead letter ${id}: replayed as event ${result.eventId} (the coordinators fold it, or dead-letter it again, with a reason)`);
  return EXIT.ok;
}

export async function runDlqDrop(ctx: CommandContext, id: string): Promise<number> {
  if (!(await dropDeadLetter(ctx.store, id))) return missing(ctx, id);
  if (ctx.json) ctx.out(JSON.stringify({ id, dropped: true }));
  else ctx.out(`dead letter ${id}: dropped`);
  return EXIT.ok;
}
