import { loadConfig, redisTargetOf } from "@worksteal/config";
import { ConfigError, type Config } from "@worksteal/protocol";
import { maskRedisUrl, Store } from "@worksteal/store";
import { RedisUrlSchema, UsageError } from "./args.js";
import { commandTimeoutMessage, ConnectionError, connect, isCommandTimeout } from "./connect.js";
import { EXIT, type CommandContext, type Io } from "./context.js";
import { helpText, type Invocation, parseInvocation } from "./program.js";
import { processIo } from "./process-io.js";

export type { Io } from "./context.js";
export { processIo } from "./process-io.js";

const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);

/** --redis, else REDIS_URL, else WORKSTEAL_REDIS_URL, else the default; validated, naming its source. */
function resolveConfig(invocation: Invocation, env: NodeJS.ProcessEnv): Config {
  const sources: Array<[string, string | undefined]> = [
    ["--redis", invocation.redis],
    ["REDIS_URL", nonEmpty(env.REDIS_URL)],
    ["WORKSTEAL_REDIS_URL", nonEmpty(env.WORKSTEAL_REDIS_URL)],
  ];
  const source = sources.find(([, v]) => v !== undefined);
  if (source) {
    const parsed = RedisUrlSchema.safeParse(source[1]);
    if (!parsed.success) throw new UsageError(`${source[0]}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  try {
    return loadConfig({ env, overrides: { redisUrl: source?.[1], namespace: invocation.namespace } });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** Runs the command line (argv without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const err = (text: string) => io.stderr(`worksteal: ${text}\n`);
  const out = (text: string) => io.stdout(`${text}\n`);
  if (argv.length === 0) {
    io.stderr(helpText());
    return EXIT.usage;
  }
  let invocation: Invocation;
  let config: Config;
  try {
    const parsed = parseInvocation(argv, io);
    if ("printed" in parsed) return parsed.code;
    invocation = parsed;
    config = resolveConfig(invocation, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(error.message);
    return EXIT.usage;
  }
  if (invocation.runOffline) return invocation.runOffline({ config, json: invocation.json, io, out, err });
  const shownUrl = maskRedisUrl(config.redisUrl);

  let connection;
  try {
    connection = await connect(redisTargetOf(config), shownUrl);
  } catch (error) {
    err((error as Error).message);
    return EXIT.usage;
  }
  let timedOut = false;
  try {
    const ctx: CommandContext = { store: new Store(connection.redis, config.namespace), config, json: invocation.json, io, out, err };
    return await invocation.run(ctx);
  } catch (error) {
    if (isCommandTimeout(error)) {
      timedOut = true;
      err(new ConnectionError(commandTimeoutMessage(shownUrl)).message);
      return EXIT.usage;
    }
    if (!connection.ready()) {
      const cause = connection.lastError() ?? (error as Error);
      err(new ConnectionError(`lost connection to Redis at ${shownUrl}: ${cause.message}`).message);
      return EXIT.usage;
    }
    err(error instanceof Error ? error.message : String(error));
    return EXIT.failure;
  } finally {
    await connection.close(timedOut);
  }
}
