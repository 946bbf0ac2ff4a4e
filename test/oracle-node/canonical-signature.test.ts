import { expect } from "chai";
import { SigningKey, getBytes, hexlify, id } from "ethers";
import { ProtocolError } from "../../protocol/errors.ts";
import { SECP256K1_HALF_N, SECP256K1_N, parseCanonicalSignature } from "../../protocol/signature.ts";
import { splitCanonicalSignature } from "../../oracle-node/verify/canonical-signature.ts";

function word(value: bigint): string {
  return value.toString(16).padStart(64, "0");
}

function signature(r: bigint, s: bigint, v: number): string {
  return "0x" + word(r) + word(s) + v.toString(16).padStart(2, "0");
}

/** Returns what a parser does with `input`: the split parts as hex, or the error code and message. */
function outcome(parse: (input: string) => { compact: Uint8Array; recoveryId: number }, input: string): string {
  try {
    const parsed = parse(input);
    return `${hexlify(parsed.compact)} ${parsed.recoveryId}`;
  } catch (error) {
    if (error instanceof ProtocolError) {
      return `${error.code}: ${error.message}`;
    }
    throw error;
  }
}

describe("oracle canonical signature split", () => {
  const signed = new SigningKey(id("canonical split")).sign(id("digest")).serialized;
  const cases: Array<[string, string]> = [
    ["ethers signature", signed],
    ["upper-case hex", "0x" + signed.slice(2).toUpperCase()],
    ["s = n/2", signature(1n, SECP256K1_HALF_N, 27)],
    ["s = n/2 + 1", signature(1n, SECP256K1_HALF_N + 1n, 28)],
    ["r = n - 1", signature(SECP256K1_N - 1n, 5n, 28)],
    ["r = n", signature(SECP256K1_N, 5n, 27)],
    ["r = 0", signature(0n, 5n, 27)],
    ["s = 0", signature(5n, 0n, 27)],
    ["v = 0", signature(5n, 5n, 0)],
    ["v = 1", signature(5n, 5n, 1)],
    ["v = 29", signature(5n, 5n, 29)],
    ["non-hex character", signed.slice(0, 70) + "g" + signed.slice(71)],
    ["one byte short", signed.slice(0, 130)],
    ["no 0x prefix", "00" + signed.slice(2)],
    ["empty", ""],
  ];

  for (const [name, input] of cases) {
    it(`matches the protocol parser: ${name}`, () => {
      expect(outcome(splitCanonicalSignature, input)).to.equal(outcome(parseCanonicalSignature, input));
    });
  }

  it("accepts the canonical cases", () => {
    expect(outcome(splitCanonicalSignature, signed)).to.equal(`${hexlify(getBytes(signed).subarray(0, 64))} ${getBytes(signed)[64] === 27 ? 0 : 1}`);
    expect(outcome(splitCanonicalSignature, signature(1n, SECP256K1_HALF_N, 27))).to.equal(`0x${word(1n)}${word(SECP256K1_HALF_N)} 0`);
    expect(outcome(splitCanonicalSignature, signature(SECP256K1_N - 1n, 5n, 28))).to.equal(`0x${word(SECP256K1_N - 1n)}${word(5n)} 1`);
  });

  it("rejects high s as non-canonical", () => {
    expect(() => splitCanonicalSignature(signature(1n, SECP256K1_HALF_N + 1n, 28)))
      .to.throw(ProtocolError, "lower half")
      .with.property("code", "NON_CANONICAL_SIGNATURE");
  });
});
