import { planSteals } from "./plan.js";
import { projectDirectives } from "./project.js";
import { drainTimes } from "./testing.js";
const [s, cfg] = JSON.parse(process.argv[2]!);
const plan = planSteals(s, cfg);
console.log(drainTimes(s));
console.log(plan);
let st = s;
for (const d of plan) { st = projectDirectives(st, [d]); console.log(d.id, drainTimes(st)); }
console.log("round2", planSteals(st, cfg), drainTimes(st));
