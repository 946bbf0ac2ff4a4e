import { Worker } from "node:worker_threads";
import { getBytes } from "ethers";
import { packDeviceMessage, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import type { CanonicalSignature } from "../../protocol/signature.ts";
import type { Logger } from "../logger.ts";
import { JOB_BYTES, JOB_KIND, RESULT_BYTES } from "./recover.ts";

export type VerifierPoolOptions = {
  /** EIP-712 domain separator of the pool's domain, 0x-prefixed. */
  domainSeparator: string;
  /** Number of worker threads. */
  workers: number;
  /** Largest number of jobs sent to a worker in one message. */
  maxJobsPerMessage?: number;
  logger: Logger;
};

type PendingJob = { resolve: (signer: string | undefined) => void; reject: (error: Error) => void };
type InFlight = { worker: number; jobs: PendingJob[] };

const WORKER_URL = new URL("./verify-worker.ts", import.meta.url);

const INITIAL_STAGING_JOBS = 1024;

/**
 * Recovers signers on worker threads with libsecp256k1. Jobs queued in one turn of the event
 * loop are written into one staging buffer and travel to a worker as transferred buffers,
 * which amortises the cost of postMessage and allocates nothing per job but its promise.
 */
export class VerifierPool {
  readonly #options: VerifierPoolOptions;
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #inFlight = new Map<number, InFlight>();
  #queue: PendingJob[] = [];
  /** Job bytes of `#queue`, in the same order. */
  #staging = new Uint8Array(INITIAL_STAGING_JOBS * JOB_BYTES);
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;

  constructor(options: VerifierPoolOptions) {
    this.#options = options;
    for (let i = 0; i < options.workers; i++) {
      this.#spawn(i);
    }
  }

  /** Recovers the signer of a device message with its canonical signature; undefined when no key recovers. */
  recoverDeviceMessage(message: SignedDeviceMessage, signature: CanonicalSignature): Promise<string | undefined> {
    if (this.#closed) {
      return Promise.reject(new Error("the verifier pool was closed"));
    }
    const slot = this.#nextSlot();
    slot[0] = message.kind === "attestation" ? JOB_KIND.attestation : JOB_KIND.restoration;
    packDeviceMessage(message, slot, 1);
    slot.set(signature.compact, 37);
    slot[101] = signature.recoveryId + 27;
    return this.#enqueue();
  }

  /** Recovers the signer of a 32-byte digest. */
  recoverDigest(digest: string, signature: CanonicalSignature): Promise<string | undefined> {
    if (this.#closed) {
      return Promise.reject(new Error("the verifier pool was closed"));
    }
    const bytes = getBytes(digest);
    if (bytes.length !== 32) {
      return Promise.reject(new RangeError(`digest ${digest} must be 32 bytes`));
    }
    const slot = this.#nextSlot();
    slot.fill(0);
    slot[0] = JOB_KIND.digest;
    slot.set(bytes, 1);
    slot.set(signature.compact, 37);
    slot[101] = signature.recoveryId + 27;
    return this.#enqueue();
  }

  /** Jobs queued or running on workers. */
  queueDepth(): number {
    let running = 0;
    for (const batch of this.#inFlight.values()) {
      running += batch.jobs.length;
    }
    return this.#queue.length + running;
  }

  /** Stops the workers; jobs still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const failure = new Error("the verifier pool was closed");
    for (const job of this.#queue) {
      job.reject(failure);
    }
    this.#queue = [];
    for (const batch of this.#inFlight.values()) {
      for (const job of batch.jobs) {
        job.reject(failure);
      }
    }
    this.#inFlight.clear();
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  /** Returns the staging bytes of the job about to be queued, growing the buffer when full. */
  #nextSlot(): Uint8Array {
    const start = this.#queue.length * JOB_BYTES;
    if (start + JOB_BYTES > this.#staging.length) {
      const grown = new Uint8Array(this.#staging.length * 2);
      grown.set(this.#staging);
      this.#staging = grown;
    }
    return this.#staging.subarray(start, start + JOB_BYTES);
  }

  /** Queues the job written by the last #nextSlot. */
  #enqueue(): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const maxJobs = this.#options.maxJobsPerMessage ?? 1024;
    const queue = this.#queue;
    // Spread a burst across workers, so every core takes part.
    const share = Math.min(maxJobs, Math.max(Math.ceil(queue.length / this.#workers.length), 64));
    this.#queue = [];
    for (let start = 0; start < queue.length; start += share) {
      const end = Math.min(queue.length, start + share);
      const jobs = queue.slice(start, end);
      const worker = this.#leastLoaded();
      const id = this.#nextId++;
      // slice copies into a buffer of its own, which is transferred to the worker.
      const buffer = this.#staging.slice(start * JOB_BYTES, end * JOB_BYTES);
      this.#inFlight.set(id, { worker, jobs });
      this.#load[worker] = (this.#load[worker] ?? 0) + jobs.length;
      this.#workers[worker]?.postMessage({ id, jobs: buffer }, [buffer.buffer]);
    }
  }

  #leastLoaded(): number {
    let best = 0;
    for (let i = 1; i < this.#workers.length; i++) {
      if ((this.#load[i] ?? 0) < (this.#load[best] ?? 0)) {
        best = i;
      }
    }
    return best;
  }

  #spawn(index: number): void {
    const separator = getBytes(this.#options.domainSeparator);
    const worker = new Worker(WORKER_URL, { workerData: { domainSeparator: separator } });
    this.#workers[index] = worker;
    this.#load[index] = 0;
    worker.on("message", (message: unknown) => this.#onResult(message));
    worker.on("error", (error) => {
      this.#options.logger.error("verify worker failed", { worker: index, error });
    });
    worker.on("exit", (code) => {
      if (this.#closed) {
        return;
      }
      this.#options.logger.error("verify worker exited; starting a new one", { worker: index, exitCode: code });
      const failure = new Error(`verify worker ${index} exited with code ${code}`);
      for (const [id, batch] of this.#inFlight) {
        if (batch.worker === index) {
          batch.jobs.forEach((job) => job.reject(failure));
          this.#inFlight.delete(id);
        }
      }
      this.#spawn(index);
    });
  }

  #onResult(message: unknown): void {
    if (typeof message !== "object" || message === null || !("id" in message) || typeof message.id !== "number" || !("results" in message) || !(message.results instanceof Uint8Array)) {
      this.#options.logger.error("verify worker sent an unexpected message");
      return;
    }
    const batch = this.#inFlight.get(message.id);
    if (batch === undefined) {
      return;
    }
    this.#inFlight.delete(message.id);
    this.#load[batch.worker] = Math.max(0, (this.#load[batch.worker] ?? 0) - batch.jobs.length);
    const results = Buffer.from(message.results.buffer, message.results.byteOffset, message.results.byteLength);
    batch.jobs.forEach((job, index) => {
      const offset = index * RESULT_BYTES;
      job.resolve(results[offset] === 1 ? "0x" + results.toString("hex", offset + 1, offset + RESULT_BYTES) : undefined);
    });
  }
}
