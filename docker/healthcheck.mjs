#!/usr/bin/env node
// The image's HEALTHCHECK: exit 0 when this container's coordinator answers 200 on /healthz
// (its Redis connection is up), else 1. Node does the request, so the image needs no curl.
import { get } from "node:http";
import process from "node:process";

const TIMEOUT_MS = 3000;
const port = process.env.WORKSTEAL_HTTP_PORT ?? "";
// The coordinator listens on WORKSTEAL_HTTP_HOST; a wildcard address is reached on loopback.
const configured = process.env.WORKSTEAL_HTTP_HOST ?? "127.0.0.1";
const host = configured === "0.0.0.0" || configured === "::" ? "127.0.0.1" : configured;

if (!/^[1-9]\d*$/.test(port)) {
  process.stderr.write("worksteal-healthcheck: WORKSTEAL_HTTP_PORT is not set to a port: the coordinator serves no /healthz\n");
  process.exit(1);
}
const request = get({ host, port: Number(port), path: "/healthz", timeout: TIMEOUT_MS }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on("timeout", () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
request.on("error", (error) => {
  process.stderr.write(`worksteal-healthcheck: http://${host}:${port}/healthz: ${error.message}\n`);
  process.exit(1);
});
