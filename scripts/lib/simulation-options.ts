import { z } from "zod";
import { flag, option } from "./args.js";

/** A comma-separated list, empty items dropped. */
export const commaList = z.string().transform((s) => s.split(",").filter((x) => x !== ""));

/** `--scenarios LIST`: some of `names`, comma-separated, all by default. */
export function scenariosOption(names: readonly string[]) {
  return option(commaList.pipe(z.array(z.enum(names as [string, ...string[]])).min(1)), {
    default: names.join(","),
    valueName: "LIST",
    help: `scenarios, comma-separated (${names.join(", ")})`,
  });
}

const ms = z.coerce.number().int().min(0).max(3_600_000);

/**
 * The balance simulator's settings as options (report:balance, compare-balance-real): the seed of
 * the workloads, stealInterval, event lag, move cost and timer-only rounds. `defaultIntervalMs`
 * and `note` (put before the help of the settings only the simulator uses) differ per script.
 */
export function simulationOptions(defaultIntervalMs: number, note = "") {
  return {
    seed: option(z.coerce.number().int(), { default: "42", valueName: "N", help: "seed of the workloads" }),
    interval: option(
      ms.refine((v) => v > 0, "must be above 0"),
      { default: String(defaultIntervalMs), valueName: "MS", help: "stealInterval: ms between planning rounds" },
    ),
    lag: option(ms, { default: "50", valueName: "MS", help: `${note}how late a finished task's duration reaches the planner` }),
    "move-cost": option(ms, { default: "5", valueName: "MS", help: `${note}time each directive takes to execute, one after the other` }),
    "timer-only": flag(`${note}plan only every stealInterval, not also on events (an agent idle, a task queued behind busy slots)`),
  };
}
