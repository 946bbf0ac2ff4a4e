import { AgentStore, type RecordedError, type RejectedMessage } from "../agent-store.ts";
import { COMMON_OPTIONS, formatHelp, resolveOptions, type OptionSpec } from "../options.ts";
import type { Command } from "./command.ts";

const OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { name: "json", boolean: true, help: "print JSON instead of text" }];

/** Status report of `device-agent status`, read from the agent's state file. */
export type AgentStatus = {
  deviceId: string | null;
  /** EIP-712 domain the queued messages are signed for; chain id as a decimal string. */
  domain: { chainId: string; poolAddress: string } | null;
  power: { state: string; atSecond: number; source: string } | null;
  connection: { phase: string; atMs: number } | null;
  queued: number;
  maxQueuedMessages: number | null;
  queueFull: boolean;
  nextSeq: number;
  acknowledged: number;
  rejected: number;
  recentRejected: RejectedMessage[];
  unfinishedOutage: { startSecond: number; nextSecond: number; restoredAt: number | null } | null;
  lastError: RecordedError | null;
};

function parseJson(text: string | undefined): unknown {
  if (text === undefined) {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return value;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Reads the agent's status from its state file; works while the agent runs. */
export function readStatus(dataDir: string): AgentStatus {
  const store = AgentStore.openReadOnly(dataDir);
  try {
    const power = parseJson(store.getMeta("power_state"));
    const connection = parseJson(store.getMeta("connection"));
    const maxQueued = store.getMeta("max_queued_messages");
    const outage = store.firstUnfinishedOutage();
    const domain = store.storedDomain();
    return {
      deviceId: store.getMeta("device_id") ?? null,
      domain: domain === undefined ? null : { chainId: domain.chainId.toString(), poolAddress: domain.poolAddress },
      power:
        isRecord(power) && typeof power.state === "string" && typeof power.atSecond === "number" && typeof power.source === "string"
          ? { state: power.state, atSecond: power.atSecond, source: power.source }
          : null,
      connection: isRecord(connection) && typeof connection.phase === "string" && typeof connection.atMs === "number" ? { phase: connection.phase, atMs: connection.atMs } : null,
      queued: store.queuedCount(),
      maxQueuedMessages: maxQueued === undefined ? null : Number(maxQueued),
      queueFull: store.getMeta("queue_full") === "1",
      nextSeq: store.nextSeq(),
      acknowledged: store.acknowledgedCount(),
      rejected: store.rejectedCount(),
      recentRejected: store.recentRejected(5),
      unfinishedOutage: outage === undefined ? null : { startSecond: outage.startSecond, nextSecond: outage.nextSecond, restoredAt: outage.restoredAt },
      lastError: store.lastError() ?? null,
    };
  } finally {
    store.close();
  }
}

/** Formats a status for people. */
export function formatStatus(status: AgentStatus): string {
  const lines = [
    `device id:     ${status.deviceId ?? "unknown (the agent has not run yet)"}`,
    `domain:        ${status.domain === null ? "not recorded yet" : `pool ${status.domain.poolAddress} on chain ${status.domain.chainId}`}`,
    `power:         ${status.power === null ? "unknown" : `${status.power.state} since second ${status.power.atSecond} (${status.power.source})`}`,
    `connection:    ${status.connection === null ? "never connected" : `${status.connection.phase} since ${new Date(status.connection.atMs).toISOString()}`}`,
    `queued:        ${status.queued} messages${status.maxQueuedMessages === null ? "" : ` of at most ${status.maxQueuedMessages}`}${status.queueFull ? " (FULL: signing paused)" : ""}`,
    `next seq:      ${status.nextSeq}`,
    `acknowledged:  ${status.acknowledged} messages`,
    `rejected:      ${status.rejected} messages`,
  ];
  for (const message of status.recentRejected) {
    lines.push(`  seq ${message.seq} (${message.kind} of second ${message.second}): ${message.code} ${message.reason}`);
  }
  if (status.unfinishedOutage !== null) {
    const outage = status.unfinishedOutage;
    lines.push(`outage:        off since ${outage.startSecond}, signed up to ${outage.nextSecond - 1}${outage.restoredAt === null ? "" : `, power back at ${outage.restoredAt}`}`);
  }
  const error = status.lastError;
  lines.push(`last error:    ${error === null ? "none" : `${error.code}${error.seq === null ? "" : ` (seq ${error.seq})`} at ${new Date(error.atMs).toISOString()}: ${error.message}`}`);
  return lines.join("\n") + "\n";
}

export const statusCommand: Command = {
  name: "status",
  summary: "Shows the source's power state, queued, acknowledged and rejected messages and the last error, read from the agent's state file (works while the agent runs).",
  async run(argv, io) {
    const values = resolveOptions("status", OPTIONS, argv, io.env);
    if (values.flag("help")) {
      io.out(formatHelp("device-agent status [options]", this.summary, OPTIONS));
      return 0;
    }
    const status = readStatus(values.get("data-dir") ?? ".data/device-agent");
    io.out(values.flag("json") ? JSON.stringify(status, null, 2) + "\n" : formatStatus(status));
    return 0;
  },
};
