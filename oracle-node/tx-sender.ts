import type { JsonRpcProvider, TransactionReceipt, TransactionRequest, Wallet } from "ethers";
import type { Logger } from "./logger.ts";

export type TxSenderOptions = {
  provider: JsonRpcProvider;
  wallet: Wallet;
  logger: Logger;
  /** Blocks on top of the receipt's block before a transaction counts as final; 0 = mined is enough. */
  confirmations: number;
  /** Real milliseconds without a receipt before the transaction is re-sent with higher fees. */
  gasBumpAfterRealMs: number;
  /** Real milliseconds between receipt polls. */
  pollIntervalRealMs: number;
  /** Times fees are raised for one transaction before the sender keeps waiting at the last fee. */
  maxGasBumps: number;
};

/** A transaction was mined and reverted. */
export class TxRevertedError extends Error {
  override readonly name = "TxRevertedError";
  readonly txHash: string;
  readonly receipt: TransactionReceipt;

  constructor(txHash: string, receipt: TransactionReceipt) {
    super(`transaction ${txHash} reverted in block ${receipt.blockNumber}`);
    this.txHash = txHash;
    this.receipt = receipt;
  }
}

type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

/** Raises fees by 12.5% plus one wei, above the minimum most nodes require for a replacement. */
function bump(fees: Fees): Fees {
  return {
    maxFeePerGas: fees.maxFeePerGas + fees.maxFeePerGas / 8n + 1n,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas + fees.maxPriorityFeePerGas / 8n + 1n,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends the node's transactions from one account. It keeps its own nonce: concurrent sends get
 * consecutive nonces, and a send that fails before the node accepted it hands its nonce back
 * by re-reading the pending count, so no gap blocks later transactions. A transaction not
 * mined in time is replaced with the same nonce and higher fees. Once it is mined, the sender
 * waits for the confirmations and re-checks the receipt, and re-sends when a reorganisation
 * removed it.
 */
export class TxSender {
  readonly #options: TxSenderOptions;
  #nextNonce: number | undefined;
  #lock: Promise<void> = Promise.resolve();

  constructor(options: TxSenderOptions) {
    this.#options = options;
  }

  /** The account that sends. */
  get address(): string {
    return this.#options.wallet.address;
  }

  /**
   * Sends `request` and resolves with its receipt once it has the confirmations; raises
   * TxRevertedError when it reverted. `onSent` runs with each hash broadcast (the first
   * and every replacement), so the caller can store it before waiting.
   */
  async send(request: TransactionRequest, fields: Record<string, unknown>, onSent?: (txHash: string) => void): Promise<TransactionReceipt> {
    const { provider, logger } = this.#options;
    const gasLimit = request.gasLimit ?? ((await provider.estimateGas({ ...request, from: this.address })) * 6n) / 5n;
    let fees = await this.#fees();
    const { nonce, signed, hash } = await this.#broadcastNew({ ...request, gasLimit }, fees);
    const hashes = [hash];
    onSent?.(hash);
    logger.info("transaction sent", { ...fields, txHash: hash, nonce, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas });

    let sentAtMs = Date.now();
    let lastSigned = signed;
    let bumps = 0;
    for (;;) {
      const receipt = await this.#findReceipt(hashes, fields);
      if (receipt !== undefined) {
        const final = await this.#waitForConfirmations(receipt, fields);
        if (final !== undefined) {
          if (final.status !== 1) {
            throw new TxRevertedError(final.hash, final);
          }
          return final;
        }
        logger.warn("transaction left the chain in a reorganisation; sending it again", { ...fields, txHash: receipt.hash });
        await this.#rebroadcast(lastSigned, fields);
        sentAtMs = Date.now();
        continue;
      }
      if (Date.now() - sentAtMs >= this.#options.gasBumpAfterRealMs) {
        if (bumps < this.#options.maxGasBumps) {
          bumps++;
          fees = bump(fees);
          const replacement = await this.#sign({ ...request, gasLimit, nonce }, fees);
          const replacementHash = await this.#rebroadcast(replacement, fields);
          if (replacementHash !== undefined) {
            lastSigned = replacement;
            hashes.push(replacementHash);
            onSent?.(replacementHash);
            logger.info("transaction re-sent with higher fees", { ...fields, txHash: replacementHash, nonce, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, bump: bumps });
          }
        } else {
          await this.#rebroadcast(lastSigned, fields);
        }
        sentAtMs = Date.now();
      }
      await sleep(this.#options.pollIntervalRealMs);
    }
  }

  async #fees(): Promise<Fees> {
    const data = await this.#options.provider.getFeeData();
    const maxPriorityFeePerGas = data.maxPriorityFeePerGas ?? 1_000_000_000n;
    const maxFeePerGas = data.maxFeePerGas ?? (data.gasPrice ?? 1_000_000_000n) * 2n;
    return { maxFeePerGas: maxFeePerGas > maxPriorityFeePerGas ? maxFeePerGas : maxPriorityFeePerGas, maxPriorityFeePerGas };
  }

  async #sign(request: TransactionRequest, fees: Fees): Promise<string> {
    const chainId = (await this.#options.provider.getNetwork()).chainId;
    return this.#options.wallet.signTransaction({ ...request, ...fees, chainId, type: 2 });
  }

  /** Takes the next nonce, signs and broadcasts, under one lock so nonces are consecutive. */
  async #broadcastNew(request: TransactionRequest, fees: Fees): Promise<{ nonce: number; signed: string; hash: string }> {
    const previous = this.#lock;
    let release!: () => void;
    this.#lock = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      if (this.#nextNonce === undefined) {
        this.#nextNonce = await this.#options.provider.getTransactionCount(this.address, "pending");
      }
      const nonce = this.#nextNonce;
      const signed = await this.#sign({ ...request, nonce }, fees);
      try {
        const response = await this.#options.provider.broadcastTransaction(signed);
        this.#nextNonce = nonce + 1;
        return { nonce, signed, hash: response.hash };
      } catch (error) {
        // Whether the node kept the transaction is unknown, so the next send reads the pending count.
        this.#nextNonce = undefined;
        throw error;
      }
    } finally {
      release();
    }
  }

  async #rebroadcast(signed: string, fields: Record<string, unknown>): Promise<string | undefined> {
    try {
      const response = await this.#options.provider.broadcastTransaction(signed);
      return response.hash;
    } catch (error) {
      this.#options.logger.info("re-sending a transaction failed", { ...fields, error });
      return undefined;
    }
  }

  async #findReceipt(hashes: readonly string[], fields: Record<string, unknown>): Promise<TransactionReceipt | undefined> {
    for (const hash of hashes) {
      try {
        const receipt = await this.#options.provider.getTransactionReceipt(hash);
        if (receipt !== null) {
          return receipt;
        }
      } catch (error) {
        this.#options.logger.info("reading a receipt failed; retrying", { ...fields, txHash: hash, error });
      }
    }
    return undefined;
  }

  /**
   * Waits until `confirmations` blocks are on top of the receipt's block. The receipt is read
   * again on every poll, so a transaction that a reorganisation removed is noticed at once
   * (undefined), and one moved to another block counts its confirmations from there.
   */
  async #waitForConfirmations(first: TransactionReceipt, fields: Record<string, unknown>): Promise<TransactionReceipt | undefined> {
    const { provider, logger, confirmations } = this.#options;
    if (confirmations === 0) {
      return first;
    }
    let receipt = first;
    let loggedDepth: number | undefined;
    for (;;) {
      try {
        const latest = await provider.getBlockNumber();
        const again = await provider.getTransactionReceipt(receipt.hash);
        if (again === null) {
          return undefined;
        }
        receipt = again;
        const depth = latest - receipt.blockNumber;
        if (depth >= confirmations) {
          return receipt;
        }
        if (depth !== loggedDepth) {
          loggedDepth = depth;
          logger.debug("waiting for confirmations", { ...fields, txHash: receipt.hash, blockNumber: receipt.blockNumber, depth, confirmations });
        }
      } catch (error) {
        logger.info("waiting for confirmations failed; retrying", { ...fields, txHash: receipt.hash, error });
      }
      await sleep(this.#options.pollIntervalRealMs);
    }
  }
}
