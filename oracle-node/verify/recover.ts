import { createRequire } from "node:module";
import { getBytes, keccak256 } from "ethers";
import { ATTESTATION_TYPEHASH, RESTORATION_TYPEHASH } from "../../protocol/eip712.ts";

/** The part of the `secp256k1` package's API used here (libsecp256k1 bindings). */
type Secp256k1 = {
  ecdsaRecover(signature: Uint8Array, recoveryId: number, message: Uint8Array, compressed: boolean): Uint8Array;
};

const require = createRequire(import.meta.url);
const secp256k1: Secp256k1 = require("secp256k1");

/**
 * Size of one job in the buffers exchanged with verification workers:
 * kind (1 byte: 0 attestation, 1 restoration, 2 raw digest), payload (36 bytes: deviceId,
 * second and seq as 20 + 8 + 8 big-endian bytes, or a 32-byte digest), signature (65 bytes).
 */
export const JOB_BYTES = 1 + 36 + 65;

/** Size of one result: 1 status byte (1 = recovered) and the 20-byte signer address. */
export const RESULT_BYTES = 21;

export const JOB_KIND = { attestation: 0, restoration: 1, digest: 2 } as const;

const TYPEHASHES = [getBytes(ATTESTATION_TYPEHASH), getBytes(RESTORATION_TYPEHASH)];

function keccakBytes(data: Uint8Array): Uint8Array {
  return getBytes(keccak256(data));
}

/**
 * Recovers the signer of every job in `jobs` into `results`, with libsecp256k1. The struct
 * hash of a device message is laid out by hand as abi.encode(typeHash, deviceId, second, seq),
 * as protocol/device-message.ts does. A signature that recovers no key leaves status 0.
 */
export function recoverJobs(domainSeparator: Uint8Array, jobs: Uint8Array, results: Uint8Array): void {
  const count = jobs.length / JOB_BYTES;
  const struct = new Uint8Array(128);
  const envelope = new Uint8Array(66);
  envelope[0] = 0x19;
  envelope[1] = 0x01;
  envelope.set(domainSeparator, 2);
  for (let i = 0; i < count; i++) {
    const job = jobs.subarray(i * JOB_BYTES, (i + 1) * JOB_BYTES);
    const kind = job[0] ?? 255;
    let digest: Uint8Array;
    if (kind === JOB_KIND.digest) {
      digest = job.subarray(1, 33);
    } else {
      const typeHash = TYPEHASHES[kind];
      if (typeHash === undefined) {
        continue;
      }
      struct.fill(0);
      struct.set(typeHash, 0);
      struct.set(job.subarray(1, 21), 44);
      struct.set(job.subarray(21, 29), 88);
      struct.set(job.subarray(29, 37), 120);
      envelope.set(keccakBytes(struct), 34);
      digest = keccakBytes(envelope);
    }
    const signature = job.subarray(37, 101);
    const v = job[101] ?? 0;
    const out = results.subarray(i * RESULT_BYTES, (i + 1) * RESULT_BYTES);
    try {
      const publicKey = secp256k1.ecdsaRecover(signature, v - 27, digest, false);
      out[0] = 1;
      out.set(keccakBytes(publicKey.subarray(1)).subarray(12), 1);
    } catch {
      out[0] = 0;
    }
  }
}
