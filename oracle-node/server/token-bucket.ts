/**
 * A token bucket: holds up to `capacity` tokens and refills at `refillPerSecond`. A large
 * capacity lets a device back-fill a burst of stored seconds after an outage of its link,
 * while the refill rate bounds what it can send over time.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #nowMs: () => number;
  #tokens: number;
  #updatedMs: number;

  constructor(capacity: number, refillPerSecond: number, nowMs: () => number = () => performance.now()) {
    this.#capacity = capacity;
    this.#refillPerMs = refillPerSecond / 1000;
    this.#nowMs = nowMs;
    this.#tokens = capacity;
    this.#updatedMs = nowMs();
  }

  /** Takes one token; returns false when the bucket is empty. */
  take(): boolean {
    const now = this.#nowMs();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updatedMs) * this.#refillPerMs);
    this.#updatedMs = now;
    if (this.#tokens < 1) {
      return false;
    }
    this.#tokens -= 1;
    return true;
  }
}
