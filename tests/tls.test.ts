import { Agent } from "@worksteal/agent";
import { main } from "@worksteal/cli";
import { Client } from "@worksteal/client";
import { Replica } from "@worksteal/coordinator";
import { type ConfigInput } from "@worksteal/protocol";
import { freePort, type RedisServer, startRedisServer, testNamespace } from "@worksteal/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateCertificates, type TestCertificates } from "./tls-certificates.js";

// A replica, an agent and a client over TLS in one process: slow to get going on a loaded CI machine.
vi.setConfig({ testTimeout: 90_000 });

let certificates: TestCertificates;
let server: RedisServer | undefined;
/** Why this machine's redis-server cannot serve TLS, when it cannot. */
let unsupported: string | undefined;
let tlsUrl: string;

beforeAll(async () => {
  certificates = await generateCertificates();
  const tlsPort = await freePort();
  tlsUrl = `rediss://127.0.0.1:${tlsPort}`;
  try {
    // The plain port stays open only for the testkit's readiness probe; every client below uses TLS,
    // and the server asks each for a certificate signed by the CA (tls-auth-clients yes).
    server = await startRedisServer({
      appendOnly: false,
      args: [
        ...["--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCert, "--tls-key-file", certificates.serverKey],
        ...["--tls-ca-cert-file", certificates.ca, "--tls-auth-clients", "yes"],
      ],
    });
  } catch (error) {
    const message = (error as Error).message;
    // A redis-server built without TLS refuses the tls-* directives.
    if (!/Bad directive|tls/i.test(message)) throw error;
    unsupported = `redis-server was built without TLS support: ${message.split("\n").find((l) => /directive|tls/i.test(l)) ?? message}`;
  }
});

afterAll(async () => {
  await server?.stop();
  await certificates.remove();
});

describe("Redis over TLS", () => {
  it("a task's path: client, coordinator and agent all connect with the CA, certificate and key", async (context) => {
    if (unsupported !== undefined) return context.skip(unsupported);
    const config: ConfigInput = {
      redisUrl: tlsUrl,
      redisTlsCa: certificates.ca,
      redisTlsCert: certificates.clientCert,
      redisTlsKey: certificates.clientKey,
      namespace: testNamespace("tls"),
      logLevel: "silent",
      heartbeatIntervalMs: 200,
    };
    const replica = new Replica({ id: "tls-replica", config });
    const agent = new Agent({ id: "tls-agent", handler: (task) => ({ echoed: task.payload }), config });
    const client = new Client({ config });
    try {
      await replica.start();
      await agent.start();
      await client.submit({ id: "over-tls", payload: { n: 1 } });
      expect(await client.waitFor("over-tls", { timeoutMs: 60_000 })).toMatchObject({ state: "done", owner: "tls-agent", result: { echoed: { n: 1 } } });
    } finally {
      await client.close();
      await agent.close();
      await replica.stop();
    }
  });

  it("the CLI over TLS: works with the right CA; a wrong CA fails with one line naming the cause", async (context) => {
    if (unsupported !== undefined) return context.skip(unsupported);
    const namespace = testNamespace("tls-cli");
    const cli = async (ca: string) => {
      let stdout = "";
      let stderr = "";
      const env = { WORKSTEAL_REDIS_TLS_CA: ca, WORKSTEAL_REDIS_TLS_CERT: certificates.clientCert, WORKSTEAL_REDIS_TLS_KEY: certificates.clientKey };
      const code = await main(
        ["agents", "--json", "--redis", tlsUrl, "--namespace", namespace],
        { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
        env,
      );
      return { code, stdout, stderr };
    };
    const trusted = await cli(certificates.ca);
    expect(trusted).toMatchObject({ code: 0, stderr: "" });

    const wrongCa = await cli(certificates.otherCa);
    expect(wrongCa.code).toBe(2);
    expect(wrongCa.stdout).toBe("");
    expect(wrongCa.stderr).toMatch(new RegExp(`^worksteal: cannot reach Redis at ${tlsUrl.replace(/[.]/g, "\\.")}: .*certificate.*\\n$`));
  });
});
