import { getBytes, hexlify } from "ethers";
import { ProtocolError } from "./errors.ts";

/** secp256k1 group order n, and n / 2: a canonical signature has s at most n / 2. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const SECP256K1_HALF_N = SECP256K1_N >> 1n;

/** A signature split into its parts, in the only form the protocol accepts. */
export type CanonicalSignature = {
  /** r ‖ s, 64 bytes. */
  compact: Uint8Array;
  /** Recovery id, 0 or 1 (v - 27). */
  recoveryId: 0 | 1;
};

const SIGNATURE_PATTERN = /^0x[0-9a-fA-F]{130}$/;

/**
 * Checks that `signature` is a 65-byte hex string r ‖ s ‖ v with v of 27 or 28 and a low s,
 * and splits it. Throws NON_CANONICAL_SIGNATURE otherwise, so one signature has exactly one
 * accepted encoding and cannot be replayed in a second form.
 */
export function parseCanonicalSignature(signature: unknown): CanonicalSignature {
  if (typeof signature !== "string" || !SIGNATURE_PATTERN.test(signature)) {
    throw new ProtocolError("NON_CANONICAL_SIGNATURE", "signature must be 65 bytes of hex (r, s, v)");
  }
  const bytes = getBytes(signature);
  const v = bytes[64];
  if (v !== 27 && v !== 28) {
    throw new ProtocolError("NON_CANONICAL_SIGNATURE", `signature v must be 27 or 28, got ${String(v)}`, { v: v ?? null });
  }
  const s = BigInt(hexlify(bytes.subarray(32, 64)));
  const r = BigInt(hexlify(bytes.subarray(0, 32)));
  if (r === 0n || s === 0n || r >= SECP256K1_N) {
    throw new ProtocolError("NON_CANONICAL_SIGNATURE", "signature r and s must be non-zero and r below the group order");
  }
  if (s > SECP256K1_HALF_N) {
    throw new ProtocolError("NON_CANONICAL_SIGNATURE", "signature s must be in the lower half of the group order");
  }
  return { compact: bytes.subarray(0, 64), recoveryId: v === 27 ? 0 : 1 };
}
