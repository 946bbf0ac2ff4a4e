import { parentPort, workerData } from "node:worker_threads";
import { RESULT_BYTES, JOB_BYTES, recoverJobs } from "./recover.ts";

/** Request from the pool: an id and a buffer of jobs (see recover.ts for the layout). */
type WorkerRequest = { id: number; jobs: Uint8Array };

function isRequest(value: unknown): value is WorkerRequest {
  return typeof value === "object" && value !== null && "id" in value && typeof value.id === "number" && "jobs" in value && value.jobs instanceof Uint8Array;
}

function readSeparator(data: unknown): Uint8Array {
  if (typeof data === "object" && data !== null && "domainSeparator" in data && data.domainSeparator instanceof Uint8Array && data.domainSeparator.length === 32) {
    return data.domainSeparator;
  }
  throw new Error("verify worker needs workerData.domainSeparator (32 bytes)");
}

const separator = readSeparator(workerData);
const port = parentPort;
if (port === null) {
  throw new Error("verify-worker.ts must run as a worker thread");
}

port.on("message", (request: unknown) => {
  if (!isRequest(request)) {
    return;
  }
  const count = request.jobs.length / JOB_BYTES;
  const results = new Uint8Array(count * RESULT_BYTES);
  recoverJobs(separator, request.jobs, results);
  port.postMessage({ id: request.id, results }, [results.buffer]);
});
