import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface StaticFile {
  type: string;
  body: Buffer;
}

const STATIC_DIR = fileURLToPath(new URL("../static/", import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The page's files by path under the dashboard's prefix, read once: the page itself, and uPlot's
 * built module and stylesheet from its package (no front-end build step).
 */
export function loadStaticFiles(): Map<string, StaticFile> {
  const own = (name: string, type: string): [string, StaticFile] => [name, { type, body: readFileSync(STATIC_DIR + name) }];
  const uplot = (file: string, type: string): [string, StaticFile] => [`vendor/${file}`, { type, body: readFileSync(require.resolve(`uplot/dist/${file}`)) }];
  return new Map([
    own("index.html", "text/html; charset=utf-8"),
    own("app.js", "text/javascript; charset=utf-8"),
    own("style.css", "text/css; charset=utf-8"),
    uplot("uPlot.esm.js", "text/javascript; charset=utf-8"),
    uplot("uPlot.min.css", "text/css; charset=utf-8"),
  ]);
}
