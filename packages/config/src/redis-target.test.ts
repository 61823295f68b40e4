import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, resolveConfig } from "@worksteal/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTargetOf } from "./load.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "worksteal-target-"));
  await writeFile(join(dir, "password"), "s3cret\n");
  await writeFile(join(dir, "ca.pem"), "CA PEM");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("redisTargetOf", () => {
  it("a plain URL alone, as before", () => {
    expect(redisTargetOf(resolveConfig())).toEqual({ url: "redis://127.0.0.1:6379" });
  });

  it("reads the password file (without its final newline) and the TLS files named by the environment", () => {
    const config = resolveConfig({
      env: { REDIS_URL: "rediss://h:6380", WORKSTEAL_REDIS_PASSWORD_FILE: join(dir, "password"), WORKSTEAL_REDIS_TLS_CA: join(dir, "ca.pem") },
    });
    expect(redisTargetOf(config)).toEqual({ url: "rediss://h:6380", password: "s3cret", tls: { ca: "CA PEM" } });
    expect(redisTargetOf(resolveConfig({ env: { WORKSTEAL_REDIS_PASSWORD: "from-env" } }))).toMatchObject({ password: "from-env" });
  });

  it("a missing file: a ConfigError naming the setting and the path", () => {
    const config = resolveConfig({ overrides: { redisUrl: "rediss://h:6380", redisTlsCa: join(dir, "absent.pem") } });
    expect(() => redisTargetOf(config)).toThrow(new ConfigError(`redisTlsCa ${join(dir, "absent.pem")}: ENOENT`));
  });

  it("settings that cannot go together are refused", () => {
    expect(() => resolveConfig({ overrides: { redisPassword: "a", redisPasswordFile: "/f" } })).toThrow(/either redisPassword or redisPasswordFile/);
    expect(() => resolveConfig({ overrides: { redisTlsCa: "/ca.pem" } })).toThrow(/TLS files need a rediss:\/\/ or rediss\+cluster:\/\/ redisUrl/);
    expect(() => resolveConfig({ overrides: { redisUrl: "rediss://h:1", redisTlsCert: "/c.pem" } })).toThrow(/redisTlsCert and redisTlsKey go together/);
    expect(() => resolveConfig({ overrides: { redisUrl: "http://h:1" } })).toThrow(
      /expected redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\//,
    );
    expect(() => resolveConfig({ overrides: { redisUrl: "redis+sentinel://h:1" } })).toThrow(/redisUrl/);
    expect(() => resolveConfig({ overrides: { redisUrl: "redis+cluster://h:1/0" } })).toThrow(/redisUrl.*no database number/);
  });

  it("a cluster URL reads the password file and the TLS files alike", async () => {
    await writeFile(join(dir, "cert.pem"), "CERT PEM");
    await writeFile(join(dir, "key.pem"), "KEY PEM");
    const config = resolveConfig({
      overrides: {
        redisUrl: "rediss+cluster://n1:7000,n2:7001",
        redisPasswordFile: join(dir, "password"),
        redisTlsCa: join(dir, "ca.pem"),
        redisTlsCert: join(dir, "cert.pem"),
        redisTlsKey: join(dir, "key.pem"),
      },
    });
    expect(redisTargetOf(config)).toEqual({
      url: "rediss+cluster://n1:7000,n2:7001",
      password: "s3cret",
      tls: { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM" },
    });
  });
});
