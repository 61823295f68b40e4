import type { SubmitInput } from "@worksteal/client";
import { type PoisonKind, poisonTask } from "../hostile.js";

/** Ordinary tasks survive this many runs cut short by a kill; poison tasks have their own. */
const ORDINARY_ATTEMPTS = 10;

export type PoisonSpecs = Map<string, { kind: PoisonKind; maxAttempts: number }>;

/**
 * The soak's tasks: a skew sends half to g1 and c1. About one in a hundred is poison: a result
 * that cannot be stored, a handler that kills its agent (rarer: each one takes an agent down
 * twice), or a task longer than its job's lock (`lockMs`).
 */
export function chaosTasks(count: number, random: () => number, lockMs: number): { tasks: SubmitInput[]; poison: PoisonSpecs } {
  const poison: PoisonSpecs = new Map();
  const tasks = Array.from({ length: count }, (_, i): SubmitInput => {
    const needs = random() < 0.15 ? ["gpu"] : random() < 0.1 ? ["ssd"] : [];
    const route = random();
    const agentId = needs.length > 0 ? (route < 0.5 ? (needs[0] === "gpu" ? "g1" : "s1") : undefined) : route < 0.3 ? "g1" : route < 0.5 ? "c1" : undefined;
    const roll = random();
    const kind: PoisonKind | undefined = roll < 0.004 ? "unserialisable" : roll < 0.005 ? "crash" : roll < 0.01 ? "long" : undefined;
    const id = `c-${i}`;
    const base = { id, type: needs[0] ?? "plain", requiredCapabilities: needs, ...(agentId ? { agentId } : {}) };
    if (!kind) return { ...base, payload: { ms: Math.round(2 + random() * 30) }, maxAttempts: ORDINARY_ATTEMPTS };
    const spec = poisonTask(kind, lockMs);
    poison.set(id, { kind, maxAttempts: spec.maxAttempts });
    return { ...base, ...spec };
  });
  return { tasks, poison };
}
