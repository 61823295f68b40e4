import { readFileSync } from "node:fs";
import { type Config, ConfigError, type ConfigInput, resolveConfig } from "@worksteal/protocol";

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
  return resolveConfig({ file: file ? readConfigFile(file) : undefined, env, overrides: options.overrides });
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
