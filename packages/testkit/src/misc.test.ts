import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";
import { testNamespace } from "./namespace.js";
import { freePort } from "./port.js";

describe("freePort", () => {
  it("returns a port that can be listened on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("returns different ports across calls (usually)", async () => {
    const ports = new Set(await Promise.all([freePort(), freePort(), freePort(), freePort()]));
    expect(ports.size).toBeGreaterThan(1);
  });
});

describe("testNamespace", () => {
  it("is unique and matches the protocol's namespace rule", () => {
    const a = testNamespace();
    const b = testNamespace("store");
    expect(a).toMatch(/^t-[0-9a-f]{8}$/);
    expect(b).toMatch(/^store-[0-9a-f]{8}$/);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(Array.from({ length: 100 }, () => testNamespace())).size).toBe(100);
  });

  it("refuses a prefix that would break key names", () => {
    expect(() => testNamespace("a:b")).toThrow();
    expect(() => testNamespace("{x}")).toThrow();
  });
});

describe("eventually", () => {
  it("retries until the assertion passes and returns its value", async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        expect(calls).toBeGreaterThanOrEqual(3);
        return calls;
      },
      { intervalMs: 5 },
    );
    expect(value).toBe(3);
  });

  it("rethrows the last error on timeout", async () => {
    let calls = 0;
    await expect(
      eventually(
        () => {
          calls++;
          throw new Error(`attempt ${calls}`);
        },
        { timeoutMs: 100, intervalMs: 10 },
      ),
    ).rejects.toThrow(/^attempt \d+$/);
    expect(calls).toBeGreaterThan(2);
  });
});
