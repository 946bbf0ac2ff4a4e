import type { JsonRpcProvider } from "ethers";
import type { SimClock } from "../../protocol/clock.ts";

/** Real milliseconds between mined blocks. */
export const MINE_INTERVAL_REAL_MS = 1_000;

/** Reads the timestamp of the latest block, in unix seconds. */
export async function latestBlockTimestamp(provider: JsonRpcProvider): Promise<number> {
  const block: unknown = await provider.send("eth_getBlockByNumber", ["latest", false]);
  if (typeof block !== "object" || block === null || !("timestamp" in block) || typeof block.timestamp !== "string") {
    throw new Error("eth_getBlockByNumber returned no latest block timestamp");
  }
  return Number(BigInt(block.timestamp));
}

/**
 * Keeps a Hardhat chain's time on the simulated clock: every real second it mines a block
 * stamped with the clock's current second. `evm_mine` with a timestamp sets the block time
 * and mines in one call, so a transaction mined in between cannot make the timestamp stale.
 * A block mined for a transaction in between continues from the last stamped second at real
 * speed. At any scale above 1 that stays behind the simulated clock, so `block.timestamp`
 * does not run ahead of the seconds devices attest.
 */
export class ClockMiner {
  readonly #provider: JsonRpcProvider;
  readonly #clock: SimClock;
  #timer: NodeJS.Timeout | undefined;
  #mining: Promise<void> | undefined;
  #lastError: Error | undefined;
  #blocksMined = 0;

  constructor(provider: JsonRpcProvider, clock: SimClock) {
    this.#provider = provider;
    this.#clock = clock;
  }

  /** Mines one block at the clock's second now, unless the chain is already there. */
  async mineNow(): Promise<void> {
    const second = this.#clock.nowSeconds();
    const latest = await latestBlockTimestamp(this.#provider);
    if (second <= latest) {
      return;
    }
    await this.#provider.send("evm_mine", [second]);
    this.#blocksMined += 1;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#mining !== undefined) {
        return;
      }
      this.#mining = this.mineNow()
        .then(() => {
          this.#lastError = undefined;
        })
        .catch((error: unknown) => {
          this.#lastError = error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          this.#mining = undefined;
        });
    }, MINE_INTERVAL_REAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#mining;
  }

  /** The last mining failure, cleared by the next success. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get blocksMined(): number {
    return this.#blocksMined;
  }
}
