import { describe, expect, it } from "vitest";
import { z } from "zod";
import { flag, helpText, JSON_FLAG, option, parseCommandLine, UsageError } from "../scripts/lib/args.js";
import { median, quantile } from "../scripts/lib/stats.js";

const command = {
  name: "bench:x",
  usage: "pnpm bench:x",
  summary: "A bench.",
  options: {
    trials: option(z.coerce.number().int().min(1), { default: "20", valueName: "N", help: "trials" }),
    modes: option(
      z.string().transform((s) => s.split(",")),
      { default: "a,b", valueName: "LIST", help: "modes" },
    ),
    quiet: flag("say less"),
    json: JSON_FLAG,
  },
};

describe("the scripts' command lines", () => {
  it("gives the defaults, coerced and typed", () => {
    expect(parseCommandLine(command, [])).toEqual({ trials: 20, modes: ["a", "b"], quiet: false, json: false });
    expect(parseCommandLine(command, ["--trials", "3", "--json", "--modes=c"])).toEqual({ trials: 3, modes: ["c"], quiet: false, json: true });
  });

  it("refuses a bad value, an unknown option or a stray argument in one line naming it", () => {
    const refusal = (argv: string[]) => {
      try {
        parseCommandLine(command, argv);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${argv.join(" ")}`);
    };
    expect(refusal(["--trials", "0"])).toMatch(/^--trials: Too small/);
    expect(refusal(["--trials", "x"])).toMatch(/^--trials: .*NaN/);
    expect(refusal(["--tirals", "3"])).toBe("Unknown option '--tirals' (--help lists the options)");
    expect(refusal(["--json=yes"])).toMatch(/'--json'/);
    expect(refusal(["extra"])).toMatch(/'extra'/);
    for (const argv of [["--trials", "0"], ["--tirals"], ["extra"]]) expect(refusal(argv)).not.toContain("\n");
  });

  it("answers --help with every option and its default", () => {
    expect(parseCommandLine(command, ["--trials", "0", "--help"])).toBe("help");
    const text = helpText(command);
    expect(text).toContain("usage: pnpm bench:x [options]");
    expect(text).toMatch(/--trials N +trials \(default 20\)/);
    expect(text).toMatch(/--quiet +say less\n/);
    expect(text).toMatch(/--help +print this text/);
  });
});

describe("the reports' statistics", () => {
  it("takes nearest-rank quantiles: values that were measured", () => {
    expect(quantile([], 0.5)).toBeUndefined();
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(
      quantile(
        [...Array(10).keys()].map((i) => i + 1),
        0.9,
      ),
    ).toBe(9);
    expect(quantile([7, 9], 1)).toBe(9);
    expect(quantile([7, 9], 0)).toBe(7);
  });
});
