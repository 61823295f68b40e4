import type { SubmitInput } from "@worksteal/client";
import { type PoisonKind, poisonTask } from "../hostile.js";

/** Ordinary tasks survive this many runs cut short by a kill; poison tasks have their own. */
const ORDINARY_ATTEMPTS = 10;

export type PoisonSpecs = Map<string, { kind: PoisonKind; maxAttempts: number }>;

/**
 * Ordinary tasks with a BullMQ-style option: `retry` fails its first attempt and retries after a
 * backoff (ends done); `timeout` outlives its timeout every time (ends failed, timed out, within
 * its attempts); `delayed` is held back (never stolen, nor started, before due; ends done);
 * `cancel` is cancelled by the soak about a tick after it was submitted.
 */
export const OPTION_KINDS = ["retry", "timeout", "delayed", "cancel"] as const;
export type OptionKind = (typeof OPTION_KINDS)[number];
export const TIMEOUT_ATTEMPTS = 2;

/**
 * The soak's tasks: a skew sends half to g1 and c1. About one in a hundred is poison: a result
 * that cannot be stored, a handler that kills its agent (rarer: each one takes an agent down
 * twice), or a task longer than its job's lock (`lockMs`).
 */
export function chaosTasks(
  count: number,
  random: () => number,
  lockMs: number,
): { tasks: SubmitInput[]; poison: PoisonSpecs; options: Map<string, OptionKind> } {
  const poison: PoisonSpecs = new Map();
  const options = new Map<string, OptionKind>();
  const tasks = Array.from({ length: count }, (_, i): SubmitInput => {
    const needs = random() < 0.15 ? ["gpu"] : random() < 0.1 ? ["ssd"] : [];
    const route = random();
    const agentId = needs.length > 0 ? (route < 0.5 ? (needs[0] === "gpu" ? "g1" : "s1") : undefined) : route < 0.3 ? "g1" : route < 0.5 ? "c1" : undefined;
    const roll = random();
    const kind: PoisonKind | undefined = roll < 0.004 ? "unserialisable" : roll < 0.005 ? "crash" : roll < 0.01 ? "long" : undefined;
    const id = `c-${i}`;
    const base = { id, type: needs[0] ?? "plain", requiredCapabilities: needs, ...(agentId ? { agentId } : {}) };
    if (!kind) {
      const ordinary = { ...base, payload: { ms: Math.round(2 + random() * 30) }, maxAttempts: ORDINARY_ATTEMPTS };
      const option = random();
      const optionKind: OptionKind | undefined =
        option < 0.04 ? "retry" : option < 0.06 ? "timeout" : option < 0.1 ? "delayed" : option < 0.15 ? "cancel" : undefined;
      if (optionKind) options.set(id, optionKind);
      if (optionKind === "retry") return { ...ordinary, payload: { ms: 5, failAttempts: 1 }, backoff: { type: "fixed", delayMs: 150, jitter: 0.5 } };
      if (optionKind === "timeout")
        return { ...ordinary, payload: { ms: 5000 }, timeoutMs: 150, maxAttempts: TIMEOUT_ATTEMPTS, backoff: { type: "fixed", delayMs: 0 } };
      if (optionKind === "delayed") {
        const { agentId: _unnamed, ...placed } = ordinary;
        return { ...placed, delayMs: Math.round(200 + random() * 3000) };
      }
      if (optionKind === "cancel") return { ...ordinary, payload: { ms: Math.round(50 + random() * 300) } };
      return ordinary;
    }
    const spec = poisonTask(kind, lockMs);
    poison.set(id, { kind, maxAttempts: spec.maxAttempts });
    return { ...base, ...spec };
  });
  return { tasks, poison, options };
}
