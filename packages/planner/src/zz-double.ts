import fc from "fast-check";
import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { configArb, snapshotArb } from "./testing.js";
let moves = 0, twice = 0;
fc.assert(fc.property(snapshotArb, configArb("balanced"), (s, cfg) => {
  let st = s; const seen = new Map<string, number>();
  for (const d of planSteals(s, cfg)) {
    const before = new Set((st.tails[d.target] ?? []).map((t) => t.id));
    st = projectDirectives(st, [d]);
    for (const t of st.tails[d.target] ?? []) if (!before.has(t.id)) { moves++; const n = (seen.get(t.id) ?? 0) + 1; seen.set(t.id, n); if (n > 1) twice++; }
  }
}), { numRuns: 20000, seed: 42 });
console.log({ moves, twice, pct: (100 * twice / moves).toFixed(2) });
