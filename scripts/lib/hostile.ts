/**
 * Hostile work for the chaos soak: entries written straight into the event stream by someone
 * who is not a worksteal script (malformed, oversized, many-field, invalid UTF-8, forged and
 * replayed), and poison tasks (a result that cannot be stored, a handler that kills its agent,
 * a task longer than its job's lock). Every hostile entry must end in the dead-letter stream;
 * every poison task must end `failed` within its attempts (a long one must simply finish).
 */
import type { Redis } from "ioredis";
import type { Keys } from "@worksteal/protocol";

export const FUZZ_SHAPES = [
  "emoji",
  "manyFields",
  "invalidUtf8",
  "duplicateField",
  "oversized",
  "unknownKind",
  "forgedCompletion",
  "replayedTaskEvent",
  "futureMetrics",
  "unknownAgentDuration",
] as const;
export type FuzzShape = (typeof FUZZ_SHAPES)[number];

/**
 * Appends one hostile entry of the given shape; returns its stream id, or undefined when the
 * shape has nothing to work from yet (a replay before any task event exists).
 */
export async function injectHostileEntry(
  redis: Redis,
  keys: Keys,
  shape: FuzzShape,
  context: { taskIds: readonly string[]; agentIds: readonly string[]; pick: <T>(items: readonly T[]) => T },
): Promise<string | undefined> {
  const now = Date.now();
  const event = (value: unknown) => ["event", JSON.stringify(value)];
  let fields: Array<string | Buffer>;
  switch (shape) {
    case "emoji":
      fields = ["event", "😀 not json"];
      break;
    case "manyFields":
      fields = Array.from({ length: 8000 }, (_, i) => `f${i}`);
      break;
    case "invalidUtf8":
      fields = ["event", Buffer.from([0x7b, 0x22, 0x6b, 0xff, 0xfe, 0x22, 0x7d])];
      break;
    case "duplicateField":
      fields = [...event({ kind: "agent:heartbeat", agentId: context.pick(context.agentIds), at: now }), "event", "{}"];
      break;
    case "oversized":
      fields = ["event", "x".repeat(200_000)];
      break;
    case "unknownKind":
      fields = event({ kind: "task:exploded", taskId: "t", at: now });
      break;
    case "forgedCompletion": {
      if (context.taskIds.length === 0) return undefined;
      fields = event({
        kind: "task:completed",
        taskId: context.pick(context.taskIds),
        agentId: context.pick(context.agentIds),
        taskType: "plain",
        epoch: 1,
        durationMs: 5,
        at: now,
      });
      break;
    }
    case "replayedTaskEvent": {
      const recent = (await redis.xrevrange(keys.events, "+", "-", "COUNT", 50)) as Array<[string, string[]]>;
      const taskEvent = recent.find(([, f]) => f[0] === "event" && f.length === 2 && f[1]!.includes('"kind":"task:'));
      if (!taskEvent) return undefined;
      fields = taskEvent[1];
      break;
    }
    case "futureMetrics":
      fields = event({ kind: "agent:metrics", agentId: context.pick(context.agentIds), cpu: 100, memoryMb: 1, at: now + 365 * 24 * 3600 * 1000 });
      break;
    case "unknownAgentDuration":
      fields = event({ kind: "agent:duration", agentId: "ghost-agent", taskType: "plain", durationMs: 5_000_000, at: now });
      break;
  }
  return (await redis.xadd(keys.events, "*", ...fields)) ?? undefined;
}

/** Every source id in the dead-letter stream. */
export async function deadLetteredIds(redis: Redis, keys: Keys): Promise<Set<string>> {
  const ids = new Set<string>();
  let from = "-";
  for (;;) {
    const page = (await redis.xrange(keys.deadLetter, from, "+", "COUNT", 1000)) as Array<[string, string[]]>;
    for (const [, fields] of page) ids.add(fields[fields.indexOf("sourceId") + 1]!);
    if (page.length < 1000) return ids;
    from = `(${page[page.length - 1]![0]}`;
  }
}

export const POISON_KINDS = ["unserialisable", "crash", "long"] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

/** The payload and attempts of a poison task; `long` outlasts a lock of `lockMs` (BullMQ must extend the lock). */
export function poisonTask(kind: PoisonKind, lockMs: number): { payload: Record<string, unknown>; maxAttempts: number } {
  switch (kind) {
    case "unserialisable":
      return { payload: { ms: 5, poison: "unserialisable" }, maxAttempts: 2 };
    case "crash":
      return { payload: { ms: 5, poison: "crash" }, maxAttempts: 2 };
    case "long":
      return { payload: { ms: Math.round(lockMs * 1.5) }, maxAttempts: 10 };
  }
}
