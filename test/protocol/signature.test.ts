import { expect } from "chai";
import { SigningKey, Wallet, getBytes, hexlify, toBeHex } from "ethers";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { SECP256K1_N, parseCanonicalSignature } from "../../protocol/signature.ts";

const key = new SigningKey("0x" + "33".repeat(32));
const deviceId = new Wallet(key.privateKey).address;
const hasher = new DeviceMessageHasher(protocolDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
const signed = hasher.sign({ kind: "attestation", deviceId, second: 1_800_000_000n, seq: 1n }, key);

function expectCode(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ProtocolError ${code}`);
}

describe("parseCanonicalSignature", () => {
  it("accepts an ethers signature", () => {
    const parsed = parseCanonicalSignature(signed.signature);
    expect(parsed.compact).to.have.length(64);
    expect([0, 1]).to.include(parsed.recoveryId);
  });

  it("rejects the high-s twin of a valid signature", () => {
    const bytes = getBytes(signed.signature);
    const s = BigInt(hexlify(bytes.subarray(32, 64)));
    const twin = new Uint8Array(bytes);
    twin.set(getBytes(toBeHex(SECP256K1_N - s, 32)), 32);
    twin[64] = bytes[64] === 27 ? 28 : 27;
    expectCode(() => parseCanonicalSignature(hexlify(twin)), "NON_CANONICAL_SIGNATURE");
  });

  it("rejects v of 0 or 1", () => {
    const bytes = new Uint8Array(getBytes(signed.signature));
    bytes[64] = (bytes[64] ?? 27) - 27;
    expectCode(() => parseCanonicalSignature(hexlify(bytes)), "NON_CANONICAL_SIGNATURE");
  });

  it("rejects wrong lengths and non-hex", () => {
    expectCode(() => parseCanonicalSignature(signed.signature.slice(0, -2)), "NON_CANONICAL_SIGNATURE");
    expectCode(() => parseCanonicalSignature("0x" + "zz".repeat(65)), "NON_CANONICAL_SIGNATURE");
    expectCode(() => parseCanonicalSignature(42), "NON_CANONICAL_SIGNATURE");
  });
});
