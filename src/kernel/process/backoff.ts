// The one retry-delay rule: baseMs, doubled with each attempt (attempt 0 waits baseMs), at most capMs.

export function backoff(baseMs: number, attempt: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
}
