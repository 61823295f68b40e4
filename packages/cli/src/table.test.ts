import { describe, expect, it } from "vitest";
import { formatDuration, formatTime, truncate } from "./format.js";
import { formatPairs, formatTable } from "./table.js";

describe("formatTable", () => {
  it("pads columns, right-aligns numbers (and their header), shows '-' for missing, no trailing spaces", () => {
    const text = formatTable(
      ["ID", "N", "NOTE"],
      [
        ["a", 5, "x"],
        ["long-id", 120, undefined],
        ["b", 2.25, ""],
      ],
    );
    expect(text.split("\n")).toEqual(["ID         N  NOTE", "a          5  x", "long-id  120  -", "b        2.3"]);
  });

  it("keeps an explicit alignment and prints only the header for no rows", () => {
    expect(formatTable([{ header: "A", align: "right" }, "B"], [])).toBe("A  B");
    expect(formatTable([{ header: "COUNT", align: "left" }], [[7]])).toBe("COUNT\n7");
  });

  it("formatPairs pads keys", () => {
    expect(
      formatPairs([
        ["a", "1"],
        ["long", "2"],
      ]),
    ).toBe("a     1\nlong  2");
  });
});

describe("format helpers", () => {
  it("durations", () => {
    expect([850, 12_340, 245_000, 7_380_000, 277_200_000, -1500].map(formatDuration)).toEqual(["850ms", "12.3s", "4m05s", "2h03m", "3d05h", "-1.5s"]);
  });
  it("times, truncation", () => {
    expect(formatTime(0)).toBe("-");
    expect(formatTime(Date.UTC(2024, 4, 1, 12, 0, 0, 123))).toBe("2024-05-01 12:00:00.123Z");
    expect(truncate("a\nb  c", 10)).toBe("a b c");
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
  });
});
