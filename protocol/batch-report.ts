import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TypedDataEncoder, ZeroHash, getAddress, type Signer } from "ethers";
import { BATCH_REPORT_TYPES, toEthersDomain, type ProtocolDomain } from "./eip712.ts";
import type { SignedDeviceMessage } from "./device-message.ts";

/** A run of contiguous off-seconds of one device, both ends inclusive. */
export type BatchEntry = {
  deviceId: string;
  fromSecond: bigint;
  toSecond: bigint;
};

/** What the committee signs and the pool settles. */
export type BatchReport = {
  configDigest: string;
  sequence: bigint;
  attestationsRoot: string;
  entries: BatchEntry[];
};

/** Leaf encoding of the attestations Merkle tree: [deviceId, second, seq, signature]. */
export const ATTESTATION_LEAF_ENCODING = ["address", "uint64", "uint64", "bytes"] as const;

export type AttestationLeaf = [string, bigint, bigint, string];

/** Builds the leaf of one signed attestation. */
export function attestationLeaf(message: SignedDeviceMessage): AttestationLeaf {
  return [getAddress(message.deviceId), message.second, message.seq, message.signature];
}

/**
 * Builds the Merkle tree over a batch's attestations (OpenZeppelin's standard tree: sorted,
 * double-hashed leaves). Returns undefined for a batch without attestations, whose root is
 * bytes32(0).
 */
export function buildAttestationsTree(messages: readonly SignedDeviceMessage[]): StandardMerkleTree<AttestationLeaf> | undefined {
  if (messages.length === 0) {
    return undefined;
  }
  return StandardMerkleTree.of(messages.map(attestationLeaf), [...ATTESTATION_LEAF_ENCODING]);
}

/** Returns the attestations root committed by a batch. */
export function attestationsRoot(messages: readonly SignedDeviceMessage[]): string {
  return buildAttestationsTree(messages)?.root ?? ZeroHash;
}

/** Computes the EIP-712 digest of a batch report in the pool's domain. */
export function batchReportDigest(domain: ProtocolDomain, report: BatchReport): string {
  return TypedDataEncoder.hash(toEthersDomain(domain), BATCH_REPORT_TYPES, report);
}

/** Signs a batch report as a committee member. */
export async function signBatchReport(domain: ProtocolDomain, report: BatchReport, signer: Signer): Promise<string> {
  return signer.signTypedData(toEthersDomain(domain), BATCH_REPORT_TYPES, report);
}
