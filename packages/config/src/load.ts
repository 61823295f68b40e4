import { readFileSync } from "node:fs";
import {
  type Config,
  ConfigError,
  type ConfigInput,
  type ConfigSources,
  DEPRECATED_CONFIG_KEYS,
  deprecatedKeysIn,
  envNameOf,
  type RedisTarget,
  resolveConfig,
} from "@worksteal/protocol";

export interface LoadConfigOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** JSON file; defaults to $WORKSTEAL_CONFIG when set. */
  file?: string;
  /** Highest precedence. */
  overrides?: ConfigInput;
}

/** Defaults < file < environment < overrides. Throws ConfigError naming each bad field, or the file it could not read. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.WORKSTEAL_CONFIG;
  const sources: ConfigSources = { file: file ? readConfigFile(file) : undefined, env, overrides: options.overrides };
  const config = resolveConfig(sources);
  warnOfDeprecatedKeys(sources);
  return config;
}

/** Deprecated settings already warned about: a process loads its config more than once (client, agent, replica). */
const warned = new Set<string>();

function warnOfDeprecatedKeys(sources: ConfigSources): void {
  for (const key of deprecatedKeysIn(sources)) {
    if (warned.has(key)) continue;
    warned.add(key);
    process.emitWarning(`worksteal setting ${key} (${envNameOf(key)}) is ignored: ${DEPRECATED_CONFIG_KEYS[key]}`, {
      type: "DeprecationWarning",
      code: "WORKSTEAL_DEPRECATED_SETTING",
    });
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${(error as Error).message}`);
  }
  let settings: unknown;
  try {
    settings = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}: bad JSON: ${(error as Error).message}`);
  }
  // An array or a scalar would otherwise be spread into settings named "0", "1", … or ignored.
  if (typeof settings !== "object" || settings === null || Array.isArray(settings)) throw new ConfigError(`config file ${file}: not a JSON object`);
  return settings as Record<string, unknown>;
}

/**
 * The Redis URL with the password and TLS files its settings name, read now: a missing or
 * unreadable file is a ConfigError naming the setting and the path (never the file's content).
 */
export function redisTargetOf(config: Config): RedisTarget {
  const read = (key: "redisPasswordFile" | "redisTlsCa" | "redisTlsCert" | "redisTlsKey"): string | undefined => {
    const path = config[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError(`${key} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  // A password file usually ends with a newline that is no part of the password.
  const password = config.redisPassword ?? read("redisPasswordFile")?.replace(/\r?\n$/, "");
  const tls = { ca: read("redisTlsCa"), cert: read("redisTlsCert"), key: read("redisTlsKey") };
  const given = Object.fromEntries(Object.entries(tls).filter(([, pem]) => pem !== undefined));
  return {
    url: config.redisUrl,
    ...(password ? { password } : {}),
    ...(Object.keys(given).length > 0 ? { tls: given } : {}),
  };
}
