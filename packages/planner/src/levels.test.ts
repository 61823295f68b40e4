import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type LevelInput, levelTargets } from "./levels.js";

interface Agent {
  group: number;
  capacity: number;
  /** Drain of its fixed work. */
  floor: number;
  /** Movable tasks: size in ms and the groups (bits) that can run it, always its own among them. */
  tasks: Array<{ ms: number; groups: number }>;
}

function inputOf(agents: readonly Agent[], groups: number): LevelInput {
  const workByGroups = new Float64Array(1 << groups);
  for (const a of agents) for (const t of a.tasks) workByGroups[t.groups] = workByGroups[t.groups]! + t.ms;
  return {
    drain: Float64Array.from(agents, (a) => a.floor + a.tasks.reduce((n, t) => n + t.ms, 0) / a.capacity),
    floor: Float64Array.from(agents, (a) => a.floor),
    capacity: Float64Array.from(agents, (a) => a.capacity),
    groupOf: Int32Array.from(agents, (a) => a.group),
    groups,
    workByGroups,
  };
}

/** Tasks some group can run, the holder's own among them (`holderRuns`) or not always (re-registering may take capabilities away). */
const fleetOf = (holderRuns: boolean) =>
  fc.integer({ min: 1, max: 3 }).chain((groups) =>
    fc
      .array(
        fc.record({
          group: fc.integer({ min: 0, max: groups - 1 }),
          capacity: fc.constantFrom(0.5, 1, 2, 3, 8),
          floor: fc.integer({ min: 0, max: 20_000 }),
          tasks: fc.array(fc.record({ ms: fc.integer({ min: 1, max: 5_000 }), others: fc.integer({ min: 0, max: (1 << groups) - 1 }) }), { maxLength: 12 }),
        }),
        { minLength: 1, maxLength: 25 },
      )
      .map((agents) => {
        // Groups are those of agents (a fleet's): a task names only those.
        const present = agents.reduce((set, a) => set | (1 << a.group), 0);
        const groupsOf = (t: { others: number }, holder: number) => {
          const others = t.others & present;
          return holderRuns || others === 0 ? others | (1 << holder) : others;
        };
        return { groups, agents: agents.map((a) => ({ ...a, tasks: a.tasks.map((t) => ({ ms: t.ms, groups: groupsOf(t, a.group) })) })) };
      }),
  );
const fleetArb = fleetOf(true);

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

describe("levelTargets", () => {
  it.each([
    ["its holder can run", true],
    ["some group can run, not always its holder", false],
  ])("with tasks %s: conserves work, leaves no agent below its floor, and gives every set of groups room for the work only it can run", (_name, holderRuns) => {
    fc.assert(
      fc.property(fleetOf(holderRuns), ({ groups, agents }) => {
        const input = inputOf(agents, groups);
        const targets = levelTargets(input);
        let before = 0;
        let after = 0;
        agents.forEach((a, i) => {
          expect(targets[i]! >= a.floor - 1e-9 * Math.max(1, a.floor)).toBe(true);
          before += a.capacity * input.drain[i]!;
          after += a.capacity * targets[i]!;
        });
        expect(close(before, after)).toBe(true);
        for (let set = 1; set < 1 << groups; set += 1) {
          let confined = 0;
          for (let mask = 1; mask < 1 << groups; mask += 1) if ((mask & ~set) === 0) confined += input.workByGroups[mask]!;
          let room = 0;
          agents.forEach((a, i) => {
            if ((set >> a.group) & 1) room += a.capacity * (targets[i]! - a.floor);
          });
          expect(room >= confined - 1e-6 * Math.max(1, confined)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("with one group, fills every agent below one level to it and leaves the rest at their floors", () => {
    fc.assert(
      fc.property(fleetArb, ({ agents }) => {
        const one = agents.map((a) => ({ ...a, group: 0, tasks: a.tasks.map((t) => ({ ms: t.ms, groups: 1 })) }));
        const targets = levelTargets(inputOf(one, 1));
        const raised = one.map((a, i) => targets[i]!).filter((t, i) => !close(t, one[i]!.floor));
        if (raised.length === 0) return;
        const level = raised[0]!;
        for (const t of raised) expect(close(t, level)).toBe(true);
        one.forEach((a, i) => expect(close(targets[i]!, Math.max(a.floor, level))).toBe(true));
      }),
      { numRuns: 500 },
    );
  });

  it("gives a holder's work that only another group can run to it, and leaves the holder at its floor", () => {
    // Group 0 holds 4 s that only group 1 runs; group 1 is idle, so no set of groups takes group 0.
    const holder: Agent = { group: 0, capacity: 1, floor: 1000, tasks: Array.from({ length: 4 }, () => ({ ms: 1000, groups: 2 })) };
    const idle: Agent = { group: 1, capacity: 1, floor: 0, tasks: [] };
    expect([...levelTargets(inputOf([holder, idle, idle], 2))]).toEqual([1000, 2000, 2000]);
  });

  it("keeps work only some groups can run among them: a GPU queue levels with the other GPU agent, not with the idle CPUs", () => {
    const gpu = (floor: number, tasks: number): Agent => ({
      group: 1,
      capacity: 1,
      floor,
      tasks: Array.from({ length: tasks }, () => ({ ms: 1000, groups: 2 })),
    });
    const cpu: Agent = { group: 0, capacity: 1, floor: 0, tasks: [] };
    const targets = levelTargets(inputOf([gpu(0, 10), gpu(0, 0), cpu, cpu, cpu], 2));
    expect([...targets]).toEqual([5000, 5000, 0, 0, 0]);
  });
});
