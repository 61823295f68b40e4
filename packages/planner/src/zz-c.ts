import fc from "fast-check";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { configArb, drainTimes, snapshotArb } from "./testing.js";
let bad = 0, total = 0; let ex: unknown;
fc.assert(fc.property(snapshotArb, configArb("balanced"), (s, cfg) => {
  const plan = planSteals(s, cfg); const b = drainTimes(s); const a = drainTimes(projectDirectives(s, plan));
  for (const d of plan) { total++; if (Math.max(a.get(d.source)!, a.get(d.target)!) > Math.max(b.get(d.source)!, b.get(d.target)!) + 1e-9) { bad++; ex ??= { d, b: [b.get(d.source), b.get(d.target)], a: [a.get(d.source), a.get(d.target)] }; } }
}), { numRuns: 20000, seed: 42 });
console.log({ bad, total }, ex);
