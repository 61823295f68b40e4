import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { eventually } from "./eventually.js";
import { type RedisServer, startRedisServer } from "./redis-server.js";

const run = promisify(execFile);

/** Every slot of a Redis Cluster. */
const SLOTS = 16384;

export interface RedisClusterOptions {
  /** Masters (no replicas); default 3, at least 3 (what `redis-cli --cluster create` accepts). */
  masters?: number;
  /** `cluster-node-timeout`, ms; default 5000 (a node unanswered this long is failing). */
  nodeTimeoutMs?: number;
  /** How long the cluster may take to agree on its slots; default 60 s (a loaded machine is slow). */
  readyTimeoutMs?: number;
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:<port>,…` naming every master. */
  readonly url: string;
  /** The masters' processes, in the order they were created. */
  readonly nodes: readonly RedisServer[];
  /** The node that serves the slot of `key` (CLUSTER SLOTS as the first node sees it). */
  nodeServing(key: string): Promise<RedisServer>;
  /**
   * Moves the slot of `key` to `target` with every key in it, the way `redis-cli --cluster
   * reshard` does (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), in two steps so that a
   * test may act in between: `migrateKeys` leaves the slot half-moved (the source answers ASK for
   * what it no longer holds), `finish` hands the slot over (every node answers MOVED).
   */
  beginSlotMove(key: string, target: RedisServer): Promise<SlotMove>;
  /** Stops every node and removes their dirs. */
  stop(): Promise<void>;
}

export interface SlotMove {
  readonly slot: number;
  readonly source: RedisServer;
  /**
   * MIGRATEs every key of the slot from the source to the target, `batch` keys per MIGRATE
   * (default: all of them in one, atomically: see docs/sharding.md on scripts during a move);
   * returns how many keys moved.
   */
  migrateKeys(batch?: number): Promise<number>;
  /** CLUSTER SETSLOT NODE on the target, the source, then every other master. */
  finish(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` private redis-server processes on free ports (each with
 * `--cluster-enabled yes` and a nodes.conf in its own temp dir), joins them with
 * `redis-cli --cluster create`, and resolves once every node reports `cluster_state:ok` with all
 * slots assigned and every node known.
 */
export async function startCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  if (masters < 3) throw new Error(`startCluster: ${masters} masters; redis-cli --cluster create needs at least 3`);
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedisServer({
          appendOnly: false,
          args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 5000)],
        }),
      );
    }
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: options.readyTimeoutMs ?? 60_000,
    });
    await eventually(
      async () => {
        for (const node of nodes) {
          const info = await onNode(node, (r) => r.cluster("INFO"));
          for (const line of ["cluster_state:ok", `cluster_slots_assigned:${SLOTS}`, `cluster_known_nodes:${masters}`]) {
            if (!info.includes(line)) throw new Error(`node ${node.port} not ready: no ${line} in CLUSTER INFO`);
          }
        }
      },
      { timeoutMs: options.readyTimeoutMs ?? 60_000, intervalMs: 200 },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node of this cluster on port ${port}`);
    return node;
  };
  const nodeId = (node: RedisServer) => onNode(node, (r) => r.cluster("MYID"));
  const slotOf = async (key: string) => Number(await onNode(nodes[0]!, (r) => r.cluster("KEYSLOT", key)));
  const servingSlot = async (slot: number) => {
    const ranges = await onNode(nodes[0]!, (r) => r.cluster("SLOTS"));
    const [, , master] = ranges.find(([from, to]) => from <= slot && slot <= to) ?? [];
    if (master === undefined) throw new Error(`slot ${slot} is served by no node`);
    return byPort(master[1]);
  };

  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
    nodes,
    nodeServing: async (key) => servingSlot(await slotOf(key)),
    async beginSlotMove(key, target) {
      const slot = await slotOf(key);
      const source = await servingSlot(slot);
      if (source === target) throw new Error(`slot ${slot} is already on node ${target.port}`);
      const [sourceId, targetId] = [await nodeId(source), await nodeId(target)];
      // The target first: once the source says MIGRATING, its ASK answers must find the target ready.
      await onNode(target, (r) => r.cluster("SETSLOT", slot, "IMPORTING", sourceId));
      await onNode(source, (r) => r.cluster("SETSLOT", slot, "MIGRATING", targetId));
      return {
        slot,
        source,
        async migrateKeys(batch = Number.MAX_SAFE_INTEGER) {
          let moved = 0;
          for (;;) {
            const keys = await onNode(source, (r) => r.cluster("GETKEYSINSLOT", slot, Math.min(batch, 1_000_000)));
            if (keys.length === 0) return moved;
            await onNode(source, (r) => r.migrate("127.0.0.1", target.port, "", 0, 60_000, "KEYS", ...keys));
            moved += keys.length;
          }
        },
        async finish() {
          await onNode(target, (r) => r.cluster("SETSLOT", slot, "NODE", targetId));
          await onNode(source, (r) => r.cluster("SETSLOT", slot, "NODE", targetId));
          for (const other of nodes) if (other !== source && other !== target) await onNode(other, (r) => r.cluster("SETSLOT", slot, "NODE", targetId));
        },
      };
    },
    stop,
  };
}

/** Runs `fn` on a connection of its own to `node` alone (no cluster redirections), then closes it. */
async function onNode<T>(node: RedisServer, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port: node.port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
