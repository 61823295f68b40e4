import type { FoldedTaskFigures } from "@worksteal/protocol";

/**
 * What the fold's fast path (foldOwn-3.lua) says of a run: the task events it applied after the
 * cursor without this process reading them, where it stopped, and what the replica's metrics
 * observe of the runs it applied.
 */
export interface OwnFoldResult {
  applied: number;
  /** The cursor's id now: the last entry applied, or the cursor as the call found it when none was. */
  cursor: string;
  /**
   * Set when it stopped at an entry that is not certainly a marked task event: that entry and
   * `count` in all from it on go the slow way (validated here, folded by fold-4.lua).
   */
  slowRun?: { from: string; count: number };
  figures: FoldedTaskFigures;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isList = (v: unknown): v is Array<string | number> => Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number");

/** The reply's shape, checked as a schema would (the store does not depend on zod): a script's reply is a boundary too. */
function checkedReply(raw: unknown): [number, string, string, number, number[], Array<string | number>, Array<string | number>] | undefined {
  if (!Array.isArray(raw)) throw new Error("foldOwn: the reply is not an array");
  if (raw.length === 1 && raw[0] === -1) return undefined;
  const [applied, cursor, stopId, slowCount, waits, completed, failed] = raw as unknown[];
  if (raw.length !== 7 || !isCount(applied) || typeof cursor !== "string" || typeof stopId !== "string" || !isCount(slowCount)) {
    throw new Error(`foldOwn: unexpected reply ${JSON.stringify(raw).slice(0, 200)}`);
  }
  if (!isList(waits) || !waits.every(isCount) || !isList(completed) || !isList(failed)) throw new Error("foldOwn: unexpected figures in the reply");
  return [applied, cursor, stopId, slowCount, waits, completed, failed];
}

/** foldOwn-3.lua's reply, decoded; undefined when the cursor was not where the call expected it (another fold took the entries) or is missing. */
export function ownFoldResultOf(raw: unknown): OwnFoldResult | undefined {
  const reply = checkedReply(raw);
  if (reply === undefined) return undefined;
  const [applied, cursor, stopId, slowCount, waitsMs, completedFlat, failedFlat] = reply;
  const completed: FoldedTaskFigures["completed"] = [];
  for (let i = 0; i + 1 < completedFlat.length; i += 2) completed.push([String(completedFlat[i]), Number(completedFlat[i + 1])]);
  const failed: FoldedTaskFigures["failed"] = [];
  for (let i = 0; i + 2 < failedFlat.length; i += 3) {
    const durationMs = Number(failedFlat[i + 2]);
    failed.push([String(failedFlat[i]), failedFlat[i + 1] === 1, durationMs < 0 ? undefined : durationMs]);
  }
  return {
    applied,
    cursor,
    ...(stopId === "" ? {} : { slowRun: { from: stopId, count: slowCount } }),
    figures: { waitsMs, completed, failed },
  };
}
