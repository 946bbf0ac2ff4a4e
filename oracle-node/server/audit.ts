import { getAddress } from "ethers";
import { buildAttestationsTree } from "../../protocol/batch-report.ts";
import type { SignedDeviceMessage } from "../../protocol/device-message.ts";
import type { BatchStore } from "../store/batch-store.ts";

/** One paid second as the audit endpoint serves it, with its Merkle proof against the batch root. */
export type AuditedAttestation = {
  deviceId: string;
  second: number;
  seq: number;
  signature: string;
  proof: string[];
};

export type BatchAttestationsResponse = {
  sequence: number;
  state: string;
  attestationsRoot: string;
  txHash: string | null;
  blockNumber: number | null;
  entries: Array<{ deviceId: string; fromSecond: string; toSecond: string }>;
  leafEncoding: string[];
  attestations: AuditedAttestation[];
};

/** Failure of an audit request, with the HTTP status to return. */
export class AuditError extends Error {
  override readonly name = "AuditError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Builds the audit view of a batch: its entries and every attestation it committed, each with
 * its proof, so anyone can recompute the root emitted in BatchSettled and re-verify each
 * paid second's signature.
 */
export function batchAttestations(batches: BatchStore, sequence: number): BatchAttestationsResponse {
  const batch = batches.batch(sequence);
  if (batch === undefined) {
    throw new AuditError(404, `batch ${sequence} is not known to this node`);
  }
  const messages: SignedDeviceMessage[] = batches.messagesOf(sequence).map((stored) => ({
    kind: stored.kind,
    deviceId: stored.deviceId,
    second: BigInt(stored.second),
    seq: BigInt(stored.seq),
    signature: stored.signature,
  }));
  const tree = buildAttestationsTree(messages);
  const root = tree?.root ?? "0x0000000000000000000000000000000000000000000000000000000000000000";
  if (root !== batch.attestationsRoot) {
    throw new AuditError(410, `the attestations of batch ${sequence} are no longer kept in full (retention period passed)`);
  }
  const attestations: AuditedAttestation[] = [];
  if (tree !== undefined) {
    for (const [index, leaf] of tree.entries()) {
      attestations.push({ deviceId: getAddress(leaf[0]), second: Number(leaf[1]), seq: Number(leaf[2]), signature: leaf[3], proof: tree.getProof(index) });
    }
  }
  attestations.sort((a, b) => {
    if (a.deviceId !== b.deviceId) {
      return a.deviceId < b.deviceId ? -1 : 1;
    }
    return a.seq - b.seq;
  });
  return {
    sequence,
    state: batch.state,
    attestationsRoot: batch.attestationsRoot,
    txHash: batch.txHash ?? null,
    blockNumber: batch.blockNumber ?? null,
    entries: batch.entries.map((entry) => ({ deviceId: entry.deviceId, fromSecond: entry.fromSecond.toString(), toSecond: entry.toSecond.toString() })),
    leafEncoding: ["address", "uint64", "uint64", "bytes"],
    attestations,
  };
}
