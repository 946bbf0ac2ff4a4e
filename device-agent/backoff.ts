/** Bounds of an exponential backoff, in real milliseconds. */
export type BackoffBounds = {
  minRealMs: number;
  maxRealMs: number;
};

/**
 * Returns the delay before retry number `attempt` (0 for the first retry): the delay doubles
 * from `minRealMs` up to `maxRealMs`, and a random jitter picks a value between half of it
 * and all of it, so devices that lost the network together do not reconnect together.
 */
export function backoffDelayRealMs(bounds: BackoffBounds, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(attempt, 30);
  const ceiling = Math.min(bounds.maxRealMs, bounds.minRealMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
