import type { BacklogSample } from "./model.js";

/** Charts for the balance report, as standalone SVG text: no fonts to load, no scripts, readable on GitHub. */

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const FONT = 'font-family="sans-serif" font-size="12"';

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const fixed = (n: number) => Number(n.toFixed(1));

/** A tick step of 1, 2 or 5 × a power of ten giving about `count` ticks up to `max`. */
function tickStep(max: number, count = 5): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? raw;
}

/**
 * Grouped bars: per scenario, one bar per policy of its makespan over the lower bound, with a
 * dashed line at 1 (the bound itself).
 */
export function ratioChart(rows: ReadonlyArray<{ scenario: string; policy: string; ratio: number }>, title: string): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const policies = [...new Set(rows.map((r) => r.policy))];
  const bar = 14;
  // Wide enough for a scenario's name under its bars.
  const group = Math.max(bar * policies.length + 24, 8 + 7 * Math.max(...scenarios.map((n) => n.length)));
  const left = 48;
  const top = 40;
  const height = 240;
  const width = Math.max(left + group * scenarios.length + 20, left + 150 * policies.length);
  const max = Math.max(1, ...rows.map((r) => r.ratio));
  const step = tickStep(max);
  const yMax = Math.ceil(max / step) * step;
  const y = (v: number) => fixed(top + height - (v / yMax) * height);
  const parts: string[] = [
    `<text x="${left}" y="20" ${FONT} font-weight="bold">${escape(title)}</text>`,
    ...policies.map(
      (p, i) =>
        `<rect x="${left + 150 * i}" y="${top + height + 52}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${left + 150 * i + 14}" y="${top + height + 61}" ${FONT}>${escape(p)}</text>`,
    ),
  ];
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" ${FONT}>${fixed(v)}</text>`,
    );
  }
  scenarios.forEach((scenario, s) => {
    const x0 = left + s * group + (group - bar * policies.length) / 2;
    policies.forEach((policy, p) => {
      const row = rows.find((r) => r.scenario === scenario && r.policy === policy);
      if (!row) return;
      const x = x0 + p * bar;
      parts.push(
        `<rect x="${x}" y="${y(row.ratio)}" width="${bar - 2}" height="${fixed(top + height - y(row.ratio))}" fill="${PALETTE[p % PALETTE.length]}"><title>${escape(`${scenario}, ${policy}: ${row.ratio.toFixed(2)}`)}</title></rect>`,
      );
    });
    parts.push(`<text x="${x0 + (bar * policies.length) / 2}" y="${top + height + 18}" text-anchor="middle" ${FONT}>${escape(scenario)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(1)}" y2="${y(1)}" stroke="#333" stroke-dasharray="4 3"/>`);
  return svg(width, top + height + 72, parts);
}

/**
 * Small multiples: per panel (a policy), one line per agent of the tasks it holds (queued +
 * running) over time, on shared axes so that panels compare.
 */
export function backlogChart(panels: ReadonlyArray<{ label: string; samples: readonly BacklogSample[] }>, agentIds: readonly string[], title: string): string {
  const panelWidth = 360;
  const panelHeight = 200;
  const left = 48;
  const top = 56;
  const gap = 40;
  const xMax = Math.max(1, ...panels.flatMap((p) => p.samples.map((s) => s.at)));
  const yMaxRaw = Math.max(1, ...panels.flatMap((p) => p.samples.flatMap((s) => s.held)));
  const yStep = tickStep(yMaxRaw);
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const xStep = tickStep(xMax);
  const parts: string[] = [`<text x="${left}" y="20" ${FONT} font-weight="bold">${escape(title)}</text>`];
  panels.forEach((panel, i) => {
    const x0 = left + i * (panelWidth + gap);
    const x = (t: number) => fixed(x0 + (t / xMax) * panelWidth);
    const y = (v: number) => fixed(top + panelHeight - (v / yMax) * panelHeight);
    parts.push(`<text x="${x0}" y="${top - 8}" ${FONT}>${escape(panel.label)}</text>`);
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      parts.push(`<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
      if (i === 0) parts.push(`<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end" ${FONT}>${v}</text>`);
    }
    for (let t = 0; t <= xMax + 1e-9; t += xStep)
      parts.push(`<text x="${x(t)}" y="${top + panelHeight + 16}" text-anchor="middle" ${FONT}>${fixed(t / 1000)}</text>`);
    parts.push(`<text x="${x0 + panelWidth / 2}" y="${top + panelHeight + 34}" text-anchor="middle" ${FONT}>simulated seconds</text>`);
    agentIds.forEach((id, a) => {
      const points = panel.samples.map((s) => `${x(s.at)},${y(s.held[a] ?? 0)}`).join(" ");
      parts.push(`<polyline points="${points}" fill="none" stroke="${PALETTE[a % PALETTE.length]}" stroke-width="1.5"><title>${escape(id)}</title></polyline>`);
    });
  });
  agentIds.forEach((id, a) => {
    const lx = left + 80 * a;
    parts.push(
      `<rect x="${lx}" y="${top + panelHeight + 46}" width="10" height="10" fill="${PALETTE[a % PALETTE.length]}"/><text x="${lx + 14}" y="${top + panelHeight + 55}" ${FONT}>${escape(id)}</text>`,
    );
  });
  return svg(left + panels.length * (panelWidth + gap), top + panelHeight + 70, parts);
}

function svg(width: number, height: number, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>\n`;
}
