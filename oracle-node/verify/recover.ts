import { createRequire } from "node:module";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { PACKED_DEVICE_MESSAGE_BYTES, deviceMessageDigestFromPacked } from "../../protocol/device-message.ts";

/** The part of the `secp256k1` package's API used here (libsecp256k1 bindings). */
type Secp256k1 = {
  ecdsaRecover(signature: Uint8Array, recoveryId: number, message: Uint8Array, compressed: boolean): Uint8Array;
};

const require = createRequire(import.meta.url);
const secp256k1: Secp256k1 = require("secp256k1");

/**
 * Size of one job in the buffers exchanged with verification workers:
 * kind (1 byte: 0 attestation, 1 restoration, 2 raw digest), payload (36 bytes: the packed
 * device message of protocol/device-message.ts, or a 32-byte digest), signature (65 bytes).
 */
export const JOB_BYTES = 1 + PACKED_DEVICE_MESSAGE_BYTES + 65;

/** Size of one result: 1 status byte (1 = recovered) and the 20-byte signer address. */
export const RESULT_BYTES = 21;

export const JOB_KIND = { attestation: 0, restoration: 1, digest: 2 } as const;

const PAYLOAD_OFFSET = 1;
const SIGNATURE_OFFSET = PAYLOAD_OFFSET + PACKED_DEVICE_MESSAGE_BYTES;

/**
 * Recovers the signer of every job in `jobs` into `results`, with libsecp256k1. The digest
 * of a device message is computed from its packed fields by protocol/device-message.ts. A
 * signature that recovers no key, or a job of an unknown kind, leaves status 0.
 */
export function recoverJobs(domainSeparator: Uint8Array, jobs: Uint8Array, results: Uint8Array): void {
  const count = Math.floor(jobs.length / JOB_BYTES);
  for (let i = 0; i < count; i++) {
    const job = jobs.subarray(i * JOB_BYTES, (i + 1) * JOB_BYTES);
    const kind = job[0];
    const out = results.subarray(i * RESULT_BYTES, (i + 1) * RESULT_BYTES);
    out[0] = 0;
    let digest: Uint8Array;
    if (kind === JOB_KIND.digest) {
      digest = job.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + 32);
    } else if (kind === JOB_KIND.attestation || kind === JOB_KIND.restoration) {
      const payload = job.subarray(PAYLOAD_OFFSET, SIGNATURE_OFFSET);
      digest = deviceMessageDigestFromPacked(domainSeparator, kind === JOB_KIND.attestation ? "attestation" : "restoration", payload);
    } else {
      continue;
    }
    const v = job[SIGNATURE_OFFSET + 64] ?? 0;
    try {
      const publicKey = secp256k1.ecdsaRecover(job.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + 64), v - 27, digest, false);
      out.set(keccak_256(publicKey.subarray(1)).subarray(12), 1);
      out[0] = 1;
    } catch {
      out[0] = 0;
    }
  }
}
