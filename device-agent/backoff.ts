/** Bounds of an exponential backoff, in real milliseconds. */
export type BackoffBounds = {
  minRealMs: number;
  maxRealMs: number;
};

/**
 * Returns the delay before retry number `attempt`, counted from 0. The bound doubles from
 * `minRealMs` up to `maxRealMs`, and a random jitter picks a delay between half of the bound
 * and all of it. Devices that lost the network together therefore do not reconnect together.
 */
export function backoffDelayRealMs(bounds: BackoffBounds, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(attempt, 30);
  const ceiling = Math.min(bounds.maxRealMs, bounds.minRealMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
