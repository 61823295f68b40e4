// The dashboard page: renders each snapshot the server streams (server-sent events). Plain ES
// module, no build step; every value from the server goes into the DOM as text, never as HTML.
/* global document, EventSource, fetch, ResizeObserver */
import uPlot from "./vendor/uPlot.esm.js";

const ACTION_HEADER = "x-worksteal-dashboard";

const $ = (id) => document.getElementById(id);

/** An element with a class, text and attributes. */
function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function ago(ms) {
  if (ms < 1000) return "now";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

const number = (n, digits = 0) => (n === null || n === undefined ? "–" : n.toFixed(digits));

async function post(path) {
  const response = await fetch(path, { method: "POST", headers: { [ACTION_HEADER]: "1" } });
  const body = await response.json().catch(() => ({}));
  return response.ok ? "done" : (body.error ?? body.reason ?? `HTTP ${response.status}`);
}

function actionButton(label, path) {
  const button = el("button", { text: label });
  button.addEventListener("click", () => {
    button.disabled = true;
    post(path).then(
      (outcome) => (button.textContent = outcome),
      (error) => (button.textContent = error.message),
    );
  });
  return button;
}

function renderHeader(snapshot) {
  $("namespace").textContent = snapshot.namespace;
  $("leader").textContent = snapshot.leader.holder ?? "none";
  $("fence").textContent = snapshot.leader.fence;
  $("replicas").textContent = snapshot.replicas.map((r) => `${r.id}${r.role?.startsWith("leader") ? " ★" : ""}`).join(", ") || "none";
  $("unassigned").textContent = snapshot.counts.unassigned;
  $("delayed").textContent = snapshot.counts.delayed;
  $("cancelled").textContent = snapshot.counts.cancelled;
  $("events").textContent = snapshot.counts.events;
  document.body.classList.toggle("actions", snapshot.actions);
}

function renderFleet(snapshot) {
  // One scale for every bar: the fullest agent fills its cell.
  const scale = Math.max(1, ...snapshot.agents.map((a) => a.queued + a.running));
  const rows = snapshot.agents.map((a) => {
    const share = (n) => `${(100 * Math.max(0, n)) / scale}%`;
    const bar = el("div", { className: "bar", attrs: { title: `${a.queued} queued, ${a.running} running of ${a.concurrency} slots` } }, [
      el("i", { className: "bar-running", attrs: { style: `width:${share(a.running)}` } }),
      el("i", { className: "bar-queued", attrs: { style: `width:${share(a.queued)}` } }),
    ]);
    const capabilities =
      a.capabilities.length === 0 ? [el("span", { className: "cap", text: "–" })] : a.capabilities.map((c) => el("span", { className: "cap", text: c }));
    const actions = el("td", { className: "actions-only" });
    if (snapshot.actions && a.status === "alive") actions.append(actionButton("drain", `api/agents/${encodeURIComponent(a.id)}/drain`));
    return el("tr", { attrs: { "data-agent": a.id, "data-queued": a.queued, "data-running": a.running, "data-status": a.status } }, [
      el("td", { text: a.id }),
      el("td", {}, [el("span", { className: `status status-${a.status}`, text: a.status })]),
      el("td", {}, capabilities),
      el("td", { className: "bars" }, [bar]),
      el("td", { className: "num", text: a.queued }),
      el("td", { className: "num", text: `${a.running}/${a.concurrency}` }),
      el("td", { className: "num", text: a.done }),
      el("td", { className: "num", text: `${number(a.speed, 1)}/s` }),
      el("td", { className: "num", text: a.meanRunMs === null ? "–" : `${number(a.meanRunMs)} ms` }),
      actions,
    ]);
  });
  $("fleet").tBodies[0].replaceChildren(...rows);
}

const seenSteals = new Set();
let firstSteals = true;

function renderSteals(snapshot) {
  $("steal-count").textContent = `(${snapshot.counts.steals} recorded)`;
  const items = snapshot.steals.map((s) => {
    const isNew = !firstSteals && !seenSteals.has(s.directiveId);
    seenSteals.add(s.directiveId);
    return el(
      "li",
      {
        className: `steal-${s.status}${isNew ? " new" : ""}`,
        attrs: { "data-directive": s.directiveId, "data-source": s.source, "data-target": s.target, "data-moved": s.moved, title: s.detail },
      },
      [
        el("span", { className: "route", text: `${s.source} → ${s.target}` }),
        el("span", { className: "moved", text: `${s.moved}/${s.requested} tasks ${s.status}` }),
        el("span", { className: "reason", text: s.reason }),
        el("span", { className: "time", text: ` · ${ago(snapshot.at - s.finishedAt)}` }),
      ],
    );
  });
  firstSteals = false;
  $("steals").replaceChildren(...items);
}

function renderDeadLetters(snapshot) {
  $("dead-letter-count").textContent = `(${snapshot.counts.deadLetters})`;
  const rows = snapshot.deadLetters.map((d) => {
    const actions = el("td", { className: "actions-only" });
    if (snapshot.actions) actions.append(actionButton("replay", `api/dead-letters/${encodeURIComponent(d.id)}/replay`));
    return el("tr", { attrs: { "data-dead-letter": d.id } }, [el("td", { text: d.id }), el("td", { text: d.reason }), el("td", { text: d.event }), actions]);
  });
  if (rows.length === 0) rows.push(el("tr", {}, [el("td", { className: "none", text: "none: every event was folded", attrs: { colspan: 4 } })]));
  $("dead-letters").tBodies[0].replaceChildren(...rows);
}

function chart(container, series) {
  const options = {
    width: container.clientWidth || 500,
    height: 180,
    legend: { live: false },
    axes: [
      { stroke: "#8593a3", grid: { stroke: "#263241" } },
      { stroke: "#8593a3", grid: { stroke: "#263241" } },
    ],
    series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: true }))],
  };
  const plot = new uPlot(options, [[], ...series.map(() => [])], container);
  new ResizeObserver(() => plot.setSize({ width: container.clientWidth, height: 180 })).observe(container);
  return plot;
}

const throughputChart = chart($("throughput-chart"), [["tasks/s", "#3fb68b"]]);
const waitChart = chart($("wait-chart"), [
  ["p50", "#6aa8ff"],
  ["p95", "#e0a53a"],
]);

function renderCharts(snapshot) {
  const h = snapshot.history;
  // How many points the charts hold, for a reader (or a test) to see them fill.
  $("charts").dataset.points = h.at.length;
  throughputChart.setData([h.at, h.throughput]);
  waitChart.setData([h.at, h.waitP50, h.waitP95]);
}

function render(snapshot) {
  renderHeader(snapshot);
  renderFleet(snapshot);
  renderSteals(snapshot);
  renderDeadLetters(snapshot);
  renderCharts(snapshot);
}

function connect() {
  const connection = $("connection");
  const source = new EventSource("api/stream");
  source.addEventListener("message", (message) => {
    const snapshot = JSON.parse(message.data);
    if (snapshot.error) {
      connection.dataset.state = "error";
      connection.textContent = `Redis: ${snapshot.error}`;
      return;
    }
    connection.dataset.state = "live";
    connection.textContent = "live";
    render(snapshot);
  });
  // EventSource reconnects by itself; say so meanwhile.
  source.addEventListener("error", () => {
    connection.dataset.state = "error";
    connection.textContent = "reconnecting…";
  });
}

$("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("lookup-id").value.trim();
  const result = $("lookup-result");
  result.textContent = "…";
  fetch(`api/tasks/${encodeURIComponent(id)}`)
    .then((response) => response.json())
    .then(
      (body) => (result.textContent = JSON.stringify(body, null, 2)),
      (error) => (result.textContent = error.message),
    );
});

connect();
