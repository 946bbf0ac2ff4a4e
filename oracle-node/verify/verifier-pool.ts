import { Worker } from "node:worker_threads";
import { getBytes, hexlify } from "ethers";
import type { SignedDeviceMessage } from "../../protocol/device-message.ts";
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

type PendingJob = { bytes: Uint8Array; resolve: (signer: string | undefined) => void; reject: (error: Error) => void };
type InFlight = { worker: number; jobs: PendingJob[] };

const WORKER_URL = new URL("./verify-worker.ts", import.meta.url);

function writeUint64(target: Uint8Array, offset: number, value: bigint): void {
  let rest = value;
  for (let i = offset + 7; i >= offset; i--) {
    target[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/**
 * Recovers signers on worker threads with libsecp256k1. Jobs queued in one turn of the event
 * loop travel to a worker in one message, which amortises the cost of postMessage.
 */
export class VerifierPool {
  readonly #options: VerifierPoolOptions;
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #inFlight = new Map<number, InFlight>();
  #queue: PendingJob[] = [];
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
    const bytes = new Uint8Array(JOB_BYTES);
    bytes[0] = message.kind === "attestation" ? JOB_KIND.attestation : JOB_KIND.restoration;
    bytes.set(getBytes(message.deviceId), 1);
    writeUint64(bytes, 21, message.second);
    writeUint64(bytes, 29, message.seq);
    bytes.set(signature.compact, 37);
    bytes[101] = signature.recoveryId + 27;
    return this.#enqueue(bytes);
  }

  /** Recovers the signer of a 32-byte digest. */
  recoverDigest(digest: string, signature: CanonicalSignature): Promise<string | undefined> {
    const bytes = new Uint8Array(JOB_BYTES);
    bytes[0] = JOB_KIND.digest;
    bytes.set(getBytes(digest), 1);
    bytes.set(signature.compact, 37);
    bytes[101] = signature.recoveryId + 27;
    return this.#enqueue(bytes);
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

  #enqueue(bytes: Uint8Array): Promise<string | undefined> {
    if (this.#closed) {
      return Promise.reject(new Error("the verifier pool was closed"));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const maxJobs = this.#options.maxJobsPerMessage ?? 1024;
    while (this.#queue.length > 0) {
      // Spread a burst across workers, so every core takes part.
      const share = Math.ceil(this.#queue.length / this.#workers.length);
      const jobs = this.#queue.splice(0, Math.min(maxJobs, Math.max(share, 64)));
      const worker = this.#leastLoaded();
      const id = this.#nextId++;
      const buffer = new Uint8Array(jobs.length * JOB_BYTES);
      jobs.forEach((job, index) => buffer.set(job.bytes, index * JOB_BYTES));
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
    const results = message.results;
    batch.jobs.forEach((job, index) => {
      const out = results.subarray(index * RESULT_BYTES, (index + 1) * RESULT_BYTES);
      job.resolve(out[0] === 1 ? hexlify(out.subarray(1)) : undefined);
    });
  }
}
