import type { IncomingMessage, ServerResponse } from "node:http";
import { AgentIdSchema, TaskIdSchema } from "@worksteal/protocol";
import { AgentUnknownError, readTaskRecord, replayDeadLetter, type Store } from "@worksteal/store";
import { z } from "zod";
import type { SnapshotFeed } from "./feed.js";
import type { StaticFile } from "./static-files.js";

/** Every path the dashboard answers starts with this. */
export const DASHBOARD_PREFIX = "/dashboard";

/** A page that opens more streams than this is refused (each holds a socket). */
const MAX_STREAMS = 100;
/** Bytes a stream may leave unsent before it is dropped: a page that stops reading holds no more memory than this. */
const MAX_STREAM_BACKLOG = 4 * 1024 * 1024;

/**
 * Actions must carry this header: a cross-site form cannot set it, and a cross-site fetch that
 * does needs a CORS preflight, which is never granted.
 */
export const ACTION_HEADER = "x-worksteal-dashboard";

const DeadLetterIdSchema = z.string().regex(/^\d{1,20}-\d{1,20}$/, "a stream entry id: <ms>-<seq>");

export interface HandlerContext {
  store: Store;
  feed: SnapshotFeed;
  files: ReadonlyMap<string, StaticFile>;
  actions: boolean;
}

type Send = (status: number, body: unknown) => void;

/** A path segment decoded; left as it is when malformed (the id schemas then refuse its '%'). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Answers one request whose path starts with DASHBOARD_PREFIX. */
export function handleDashboardRequest(context: HandlerContext, request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? "/", "http://dashboard").pathname.slice(DASHBOARD_PREFIX.length);
  const sendJson: Send = (status, body) => {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(`${JSON.stringify(body)}\n`);
  };
  const fail = (error: unknown) => sendJson(503, { error: (error as Error).message });

  if (request.method === "POST") {
    postAction(context, path, request, sendJson).catch(fail);
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    sendJson(405, { error: `${request.method} is not served here` });
    return;
  }
  if (path === "") {
    response.writeHead(308, { location: `${DASHBOARD_PREFIX}/` });
    response.end();
    return;
  }
  if (path === "/api/snapshot") {
    // The dashboard starts reading at its first request: that request waits for the first read.
    context.feed.firstRead.then(() => {
      const latest = context.feed.latest;
      if (latest === undefined) return sendJson(503, { error: "the dashboard has stopped" });
      response.writeHead(latest.failed ? 503 : 200, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(latest.json);
    }, fail);
    return;
  }
  if (path === "/api/stream") {
    stream(context.feed, request, response, sendJson);
    return;
  }
  const task = /^\/api\/tasks\/([^/]+)$/.exec(path);
  if (task) {
    lookUpTask(context.store, decodeSegment(task[1]!), sendJson).catch(fail);
    return;
  }
  const file = context.files.get(path === "/" ? "index.html" : path.slice(1));
  if (file === undefined) {
    sendJson(404, { error: `no such dashboard path: ${path}` });
    return;
  }
  // Revalidated on each load, so that a page never runs a script older than the replica serving it.
  response.writeHead(200, { "content-type": file.type, "content-length": file.body.length, "cache-control": "no-cache" });
  response.end(request.method === "HEAD" ? undefined : file.body);
}

/** Server-sent events: the latest snapshot at once, then each new one, until the client leaves. */
function stream(feed: SnapshotFeed, request: IncomingMessage, response: ServerResponse, sendJson: Send): void {
  if (feed.subscriberCount >= MAX_STREAMS) {
    sendJson(503, { error: `already ${MAX_STREAMS} streams open` });
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  const unsubscribe = feed.subscribe((json) => {
    // EventSource reconnects by itself, and gets the latest snapshot at once.
    if (response.writableLength > MAX_STREAM_BACKLOG) response.destroy();
    else response.write(`data: ${json}\n\n`);
  });
  response.on("close", unsubscribe);
}

async function lookUpTask(store: Store, taskId: string, sendJson: Send): Promise<void> {
  const id = TaskIdSchema.safeParse(taskId);
  if (!id.success) return sendJson(400, { error: id.error.issues[0]?.message ?? "bad task id" });
  const record = await readTaskRecord(store, id.data);
  if (record === undefined) return sendJson(404, { error: `no task ${id.data} (never submitted, or its record expired)` });
  if (!record.ok) return sendJson(422, { error: `task ${id.data} cannot be read: ${record.reason}` });
  sendJson(200, record.value);
}

async function postAction(context: HandlerContext, path: string, request: IncomingMessage, sendJson: Send): Promise<void> {
  request.resume();
  if (!context.actions) return sendJson(403, { error: "dashboard actions are off (dashboardActions / WORKSTEAL_DASHBOARD_ACTIONS)" });
  if (request.headers[ACTION_HEADER] !== "1") return sendJson(403, { error: `an action needs the header ${ACTION_HEADER}: 1` });
  const drain = /^\/api\/agents\/([^/]+)\/drain$/.exec(path);
  if (drain) {
    const id = AgentIdSchema.safeParse(decodeSegment(drain[1]!));
    if (!id.success) return sendJson(400, { error: id.error.issues[0]?.message ?? "bad agent id" });
    try {
      await context.store.drain(id.data);
    } catch (error) {
      if (error instanceof AgentUnknownError) return sendJson(404, { error: error.message });
      throw error;
    }
    return sendJson(200, { drained: id.data });
  }
  const replay = /^\/api\/dead-letters\/([^/]+)\/replay$/.exec(path);
  if (replay) {
    const id = DeadLetterIdSchema.safeParse(decodeSegment(replay[1]!));
    if (!id.success) return sendJson(400, { error: id.error.issues[0]?.message ?? "bad dead-letter id" });
    const outcome = await replayDeadLetter(context.store, id.data);
    if (outcome === undefined) return sendJson(404, { error: `no dead letter ${id.data}` });
    return sendJson(outcome.replayed ? 200 : 409, outcome);
  }
  sendJson(404, { error: `no such action: ${path}` });
}
