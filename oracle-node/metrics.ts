import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The node's Prometheus metrics, in their own registry so several nodes can run in one process. */
export type OracleMetrics = {
  registry: Registry;
  messagesAccepted: Counter<"kind">;
  messagesRejected: Counter<"code">;
  storeCommits: Counter<"outcome">;
  secondsDropped: Counter<"reason">;
  batchEntries: Histogram;
  batchAttestations: Histogram;
  batchesSettled: Counter;
  batchFailures: Counter<"reason">;
  settlementLatency: Histogram;
  gasUsed: Counter;
  queueDepth: Gauge<"queue">;
  connections: Gauge;
  rpcErrors: Counter<"operation">;
};

/** Creates the metrics, with Node's default process metrics, in a new registry. */
export function createMetrics(): OracleMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "oracle_" });
  const registers = [registry];
  return {
    registry,
    messagesAccepted: new Counter({ name: "oracle_messages_accepted_total", help: "Device messages stored and acknowledged, by kind", labelNames: ["kind"], registers }),
    messagesRejected: new Counter({ name: "oracle_messages_rejected_total", help: "Device messages rejected, by error code", labelNames: ["code"], registers }),
    storeCommits: new Counter({ name: "oracle_store_commits_total", help: "Group commits of received messages, by outcome", labelNames: ["outcome"], registers }),
    secondsDropped: new Counter({ name: "oracle_seconds_dropped_total", help: "Attested seconds that will not be paid, by reason", labelNames: ["reason"], registers }),
    batchEntries: new Histogram({ name: "oracle_batch_entries", help: "Entries per settled batch", buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers }),
    batchAttestations: new Histogram({ name: "oracle_batch_attestations", help: "Attestations per settled batch", buckets: [1, 10, 100, 1_000, 10_000, 100_000], registers }),
    batchesSettled: new Counter({ name: "oracle_batches_settled_total", help: "Batches confirmed on chain", registers }),
    batchFailures: new Counter({ name: "oracle_batch_failures_total", help: "Failed attempts to settle a batch, by reason", labelNames: ["reason"], registers }),
    settlementLatency: new Histogram({
      name: "oracle_settlement_latency_seconds",
      help: "Real time from receiving an attestation to the confirmation of the batch that paid it",
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3_600],
      registers,
    }),
    gasUsed: new Counter({ name: "oracle_gas_used_total", help: "Gas used by confirmed settlement transactions", registers }),
    queueDepth: new Gauge({ name: "oracle_queue_depth", help: "Items waiting, by queue (verify, commit, settlement)", labelNames: ["queue"], registers }),
    connections: new Gauge({ name: "oracle_device_connections", help: "Open device WebSocket connections", registers }),
    rpcErrors: new Counter({ name: "oracle_rpc_errors_total", help: "Failed calls to the chain's RPC endpoint, by operation", labelNames: ["operation"], registers }),
  };
}
