import { COMMAND_TIMEOUT_MS, CONNECT_TIMEOUT_MS } from "./connect.js";

export const USAGE = `Usage: worksteal <command> [options]

Inspects a worksteal namespace, asks agents to drain (and takes them back), and removes
dead ones (the three commands that write).

Commands:
  status               one-screen summary: agents, task totals, event stream, replicas,
                       leader, steals
  agents               every registered agent with its slots, load and heartbeat
  leader               the leader lease (holder, fence, time left) and each replica's
                       heartbeat and self-reported role; says "no leader" when none
  task <id>            one task's record
  steals [--limit N]   recent steal operations, newest first (default N: 20)
  agent drain <id> [--wait [--timeout S]]
                       asks agent <id> to drain: it takes no new task, the leader hands its
                       queue to other agents, and once it holds no task it is "drained".
                       Prints its status before and after (--json: {agentId, status,
                       previous}); idempotent. With --wait, polls until it is drained,
                       reporting queued/running counts on stderr each second; fails (exit 1)
                       after S seconds (default 60). --json --wait prints once drained
  agent undrain <id>   takes a draining or drained agent back: it may be given tasks again
                       and resumes taking jobs at its next heartbeat (--json: {agentId,
                       status, previous}); exit 1 for an unknown agent
  agent remove <id>    forgets a dead agent that holds no task: its records and its queue
                       (the leader also does this itself after agentRetentionMs). Refuses,
                       with exit 1, an agent that is alive or still holds tasks
  help                 this text

Options:
  --redis <url>        Redis URL (default: $REDIS_URL, else $WORKSTEAL_REDIS_URL,
                       else redis://127.0.0.1:6379)
  -n, --namespace <ns> namespace (default: $WORKSTEAL_NAMESPACE, else "default")
  --json               print JSON for programs instead of text for people
  -h, --help           this text

Other WORKSTEAL_* settings (e.g. WORKSTEAL_AGENT_TTL_MS, which decides when an agent counts
as dead) and the $WORKSTEAL_CONFIG file are read as by the coordinator.

Exit status: 0 ok; 1 not found or failed (also: drain --wait timed out); 2 bad arguments,
or Redis unreachable or not answering (${CONNECT_TIMEOUT_MS / 1000} s to connect, ${COMMAND_TIMEOUT_MS / 1000} s per command).
`;
