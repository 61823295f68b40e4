import { describe, expect, it } from "vitest";
import { backlogChart, ratioChart } from "./charts.js";

const count = (text: string, tag: string) => text.split(`<${tag} `).length - 1;

describe("charts", () => {
  it("ratioChart draws a bar per row, a legend entry per policy, and escapes names", () => {
    const rows = [
      { scenario: "a<b", policy: "none", ratio: 2.5 },
      { scenario: "a<b", policy: "balanced", ratio: 1.1 },
      { scenario: "c", policy: "none", ratio: 1 },
    ];
    const svg = ratioChart(rows, "T & U");
    expect(svg.startsWith("<svg ")).toBe(true);
    // Background, 2 legend swatches, 3 bars.
    expect(count(svg, "rect")).toBe(1 + 2 + 3);
    expect(svg).toContain("a&lt;b");
    expect(svg).toContain("T &amp; U");
    expect(svg).not.toContain("a<b");
  });

  it("backlogChart draws one line per agent per panel, through every sample", () => {
    const samples = [
      { at: 0, held: [4, 0], shared: 0 },
      { at: 500, held: [2, 1], shared: 0 },
      { at: 1000, held: [0, 0], shared: 0 },
    ];
    const svg = backlogChart(
      [
        { label: "none", samples },
        { label: "balanced", samples },
      ],
      ["x", "y"],
      "backlog",
    );
    expect(count(svg, "polyline")).toBe(4);
    const firstLine = /<polyline points="([^"]+)"/.exec(svg)![1]!;
    expect(firstLine.split(" ")).toHaveLength(3);
  });
});
