import { SECP256K1_HALF_N, SECP256K1_N, parseCanonicalSignature, type CanonicalSignature } from "../../protocol/signature.ts";

function toWord(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

const N_WORD = toWord(SECP256K1_N);
const HALF_N_WORD = toWord(SECP256K1_HALF_N);
const ZERO_WORD = Buffer.alloc(32);

/**
 * Splits a signature like protocol/signature.ts parseCanonicalSignature, comparing r and s
 * as bytes instead of as bigints. It accepts exactly the signatures that function accepts:
 * anything it does not accept at once goes to that function, which raises the
 * NON_CANONICAL_SIGNATURE error with its reason.
 */
export function splitCanonicalSignature(signature: string): CanonicalSignature {
  if (signature.length === 132 && signature.startsWith("0x")) {
    // Buffer stops decoding at the first character that is not hex, which leaves it short.
    const bytes = Buffer.from(signature.slice(2), "hex");
    if (bytes.length === 65) {
      const v = bytes[64];
      const r = bytes.subarray(0, 32);
      const s = bytes.subarray(32, 64);
      if ((v === 27 || v === 28) && !r.equals(ZERO_WORD) && !s.equals(ZERO_WORD) && r.compare(N_WORD) < 0 && s.compare(HALF_N_WORD) <= 0) {
        return { compact: new Uint8Array(bytes.buffer, bytes.byteOffset, 64), recoveryId: v === 27 ? 0 : 1 };
      }
    }
  }
  return parseCanonicalSignature(signature);
}
