export const USAGE = `Usage: worksteal <command> [options]

Inspects a worksteal namespace. Read-only.

Commands:
  status               one-screen summary: agents, task totals, event stream, replicas,
                       leader, steals
  agents               every registered agent with its slots, load and heartbeat
  leader               the leader lease (holder, fence, time left) and each replica's
                       heartbeat and self-reported role; says "no leader" when none
  task <id>            one task's record
  steals [--limit N]   recent steal operations, newest first (default N: 20)
  help                 this text

Options:
  --redis <url>        Redis URL (default: $REDIS_URL, else $WORKSTEAL_REDIS_URL,
                       else redis://127.0.0.1:6379)
  -n, --namespace <ns> namespace (default: $WORKSTEAL_NAMESPACE, else "default")
  --json               print JSON for programs instead of text for people
  -h, --help           this text

Other WORKSTEAL_* settings (e.g. WORKSTEAL_AGENT_TTL_MS, which decides when an agent counts
as dead) and the $WORKSTEAL_CONFIG file are read as by the coordinator.

Exit status: 0 ok; 1 not found or failed; 2 bad arguments or Redis unreachable.
`;
