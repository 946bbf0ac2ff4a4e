import { expect } from "chai";
import { SigningKey, TypedDataEncoder, Wallet, getBytes, hexlify } from "ethers";
import {
  DeviceMessageHasher,
  PACKED_DEVICE_MESSAGE_BYTES,
  deviceMessageDigestFromPacked,
  packDeviceMessage,
  type DeviceMessage,
} from "../../protocol/device-message.ts";
import { ATTESTATION_TYPES, RESTORATION_TYPES, domainSeparator, protocolDomain, toEthersDomain } from "../../protocol/eip712.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DEVICE_ID = new Wallet(new SigningKey("0x" + "22".repeat(32)).privateKey).address;
const domain = protocolDomain(31337n, POOL);
const MAX_UINT64 = (1n << 64n) - 1n;

const CASES: DeviceMessage[] = [
  { kind: "attestation", deviceId: DEVICE_ID, second: 0n, seq: 1n },
  { kind: "attestation", deviceId: DEVICE_ID.toLowerCase(), second: 1_733_300_000n, seq: 42n },
  { kind: "restoration", deviceId: DEVICE_ID, second: 1_733_300_001n, seq: 43n },
  { kind: "attestation", deviceId: DEVICE_ID, second: MAX_UINT64, seq: MAX_UINT64 },
  { kind: "restoration", deviceId: "0x" + "00".repeat(20), second: (1n << 53n) + 1n, seq: 256n },
];

function caseAt(index: number): DeviceMessage {
  const message = CASES[index];
  if (message === undefined) {
    throw new Error(`no case ${index}`);
  }
  return message;
}

function genericDigest(message: DeviceMessage): string {
  const types = message.kind === "attestation" ? ATTESTATION_TYPES : RESTORATION_TYPES;
  return TypedDataEncoder.hash(toEthersDomain(domain), types, { deviceId: message.deviceId, second: message.second, seq: message.seq });
}

describe("device message byte-level digest", () => {
  it("digestBytes equals the generic encoder's digest", () => {
    const hasher = new DeviceMessageHasher(domain);
    for (const message of CASES) {
      expect(hexlify(hasher.digestBytes(message))).to.equal(genericDigest(message));
      expect(hasher.digest(message)).to.equal(genericDigest(message));
    }
  });

  it("digest from packed fields at an offset equals the generic encoder's", () => {
    const separator = getBytes(domainSeparator(domain));
    const buffer = new Uint8Array(5 + PACKED_DEVICE_MESSAGE_BYTES * CASES.length);
    CASES.forEach((message, index) => packDeviceMessage(message, buffer, 5 + index * PACKED_DEVICE_MESSAGE_BYTES));
    CASES.forEach((message, index) => {
      const start = 5 + index * PACKED_DEVICE_MESSAGE_BYTES;
      const packed = buffer.subarray(start, start + PACKED_DEVICE_MESSAGE_BYTES);
      expect(hexlify(deviceMessageDigestFromPacked(separator, message.kind, packed))).to.equal(genericDigest(message));
    });
  });

  it("packs deviceId, second and seq big-endian", () => {
    const packed = new Uint8Array(PACKED_DEVICE_MESSAGE_BYTES);
    packDeviceMessage({ kind: "attestation", deviceId: DEVICE_ID, second: 0x0102030405060708n, seq: 0xa0b0c0d0e0f00010n }, packed);
    expect(hexlify(packed)).to.equal(DEVICE_ID.toLowerCase() + "0102030405060708" + "a0b0c0d0e0f00010");
  });

  it("digests stay independent across calls", () => {
    const hasher = new DeviceMessageHasher(domain);
    const first = hasher.digestBytes(caseAt(0));
    const copy = hexlify(first);
    hasher.digestBytes(caseAt(3));
    expect(hexlify(first)).to.equal(copy);
  });

  it("packing rejects values outside uint64 and short ids", () => {
    const packed = new Uint8Array(PACKED_DEVICE_MESSAGE_BYTES);
    expect(() => packDeviceMessage({ kind: "attestation", deviceId: DEVICE_ID, second: 1n << 64n, seq: 1n }, packed)).to.throw(RangeError, "must be uint64 values");
    expect(() => packDeviceMessage({ kind: "attestation", deviceId: DEVICE_ID, second: 1n, seq: -1n }, packed)).to.throw(RangeError, "must be uint64 values");
    expect(() => packDeviceMessage({ kind: "attestation", deviceId: "0x1234", second: 1n, seq: 1n }, packed)).to.throw(RangeError, "must be 20 bytes");
  });

  it("digest from packed fields rejects wrong lengths", () => {
    const separator = getBytes(domainSeparator(domain));
    expect(() => deviceMessageDigestFromPacked(separator, "attestation", new Uint8Array(35))).to.throw(RangeError, "36 packed bytes");
    expect(() => deviceMessageDigestFromPacked(separator.subarray(1), "attestation", new Uint8Array(36))).to.throw(RangeError, "32-byte separator");
  });
});
