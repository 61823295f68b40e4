/** True when the agent has every capability the task requires. */
export function canRun(capabilities: ReadonlySet<string>, required: readonly string[]): boolean {
  for (const c of required) if (!capabilities.has(c)) return false;
  return true;
}
