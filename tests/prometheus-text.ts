/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), as much of it as a
 * scrape of ours holds: `# HELP`, `# TYPE`, and samples with optional labels, no timestamps.
 * Anything else is an error naming the line, so a malformed scrape fails the test that reads it.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(?:,|$)/;
/** Sample names a histogram or summary family owns beside its own. */
const SUFFIXES = ["_bucket", "_sum", "_count"];

function parseValue(text: string, line: number): number {
  // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes "Nan" (for an event-loop figure before its first sample).
  if (text.toLowerCase() === "nan") return Number.NaN;
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let rest = text; rest.length > 0;) {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`line ${line}: bad labels ${JSON.stringify(text)}`);
    const [whole, name, raw] = match as unknown as [string, string, string];
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/** The families of a scrape by name; throws on a line that is not valid exposition text. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sampleName: string, line: number): Family => {
    const own = families.get(sampleName);
    if (own) return own;
    for (const suffix of SUFFIXES) {
      const base = families.get(sampleName.slice(0, -suffix.length));
      if (sampleName.endsWith(suffix) && base && (base.type === "histogram" || base.type === "summary")) return base;
    }
    throw new Error(`line ${line}: sample ${sampleName} has no # TYPE before it`);
  };
  text.split("\n").forEach((content, index) => {
    const line = index + 1;
    if (content === "") return;
    const help = HELP.exec(content);
    if (help) {
      const [, name, value] = help as unknown as [string, string, string];
      if (families.has(name)) throw new Error(`line ${line}: family ${name} twice`);
      families.set(name, { name, type: "untyped", help: value, samples: [] });
      return;
    }
    const type = TYPE.exec(content);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, Family["type"]];
      const family = families.get(name) ?? { name, type: kind, help: "", samples: [] };
      if (family.samples.length > 0) throw new Error(`line ${line}: # TYPE of ${name} after its samples`);
      family.type = kind;
      families.set(name, family);
      return;
    }
    if (content.startsWith("#")) throw new Error(`line ${line}: unexpected comment ${JSON.stringify(content)}`);
    const sample = SAMPLE.exec(content);
    if (!sample) throw new Error(`line ${line}: not a sample ${JSON.stringify(content)}`);
    const [, name, labels, value] = sample as unknown as [string, string, string | undefined, string];
    familyOf(name, line).samples.push({ name, labels: parseLabels(labels ?? "", line), value: parseValue(value, line) });
  });
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const matches = [...families.values()].flatMap((f) =>
    f.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)),
  );
  if (matches.length !== 1) throw new Error(`${matches.length} samples ${name}${JSON.stringify(labels)}`);
  return matches[0]!.value;
}

/** The sum of every sample named `name` (0 when there is none, as for a counter never incremented). */
export function sampleSum(families: Map<string, Family>, name: string): number {
  return [...families.values()].flatMap((f) => f.samples.filter((s) => s.name === name)).reduce((n, s) => n + s.value, 0);
}
