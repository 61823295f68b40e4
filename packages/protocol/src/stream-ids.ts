/**
 * Orders two Redis stream entry ids (`<ms>-<seq>`, or `<ms>` alone for `<ms>-0`): negative when
 * `a` comes first, 0 when equal, positive when `a` comes after. Both parts are compared as
 * numbers (as text, "10-2" would sort before "9-5"); the ids Redis makes stay far below 2^53.
 */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs - bMs || aSeq - bSeq;
}
