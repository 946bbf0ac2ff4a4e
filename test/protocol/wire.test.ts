import { expect } from "chai";
import { SigningKey, Wallet } from "ethers";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { encodeDeviceToServer, encodeServerToDevice, parseDeviceToServer, parseServerToDevice } from "../../protocol/wire.ts";

const key = new SigningKey("0x" + "44".repeat(32));
const deviceId = new Wallet(key.privateKey).address;
const hasher = new DeviceMessageHasher(protocolDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));

function parseError(frame: unknown): ProtocolError {
  try {
    parseDeviceToServer(frame);
  } catch (error) {
    if (error instanceof ProtocolError) {
      return error;
    }
    throw error;
  }
  return expect.fail("expected a ProtocolError");
}

describe("wire messages", () => {
  it("attestation round-trips with small integers as numbers", () => {
    const signed = hasher.sign({ kind: "attestation", deviceId, second: 1_800_000_000n, seq: 12n }, key);
    const frame = encodeDeviceToServer({ type: "attestation", message: signed });
    expect(JSON.parse(frame)).to.deep.equal({ type: "attestation", deviceId, second: 1_800_000_000, seq: 12, signature: signed.signature });
    expect(parseDeviceToServer(frame)).to.deep.equal({ type: "attestation", message: signed });
  });

  it("integers above 2^53 travel as decimal strings", () => {
    const big = (1n << 53n) + 1n;
    const signed = hasher.sign({ kind: "restoration", deviceId, second: 5n, seq: big }, key);
    const frame = encodeDeviceToServer({ type: "restoration", message: signed });
    expect(JSON.parse(frame).seq).to.equal("9007199254740993");
    expect(parseDeviceToServer(frame)).to.deep.equal({ type: "restoration", message: signed });
    expect(JSON.parse(encodeServerToDevice({ type: "ack", seq: big })).seq).to.equal("9007199254740993");
    expect(parseServerToDevice(encodeServerToDevice({ type: "welcome", deviceId, lastSeq: big }))).to.deep.equal({ type: "welcome", deviceId, lastSeq: big });
  });

  it("malformed frames are rejected with the field named", () => {
    const signed = hasher.sign({ kind: "attestation", deviceId, second: 1n, seq: 1n }, key);
    const good = JSON.parse(encodeDeviceToServer({ type: "attestation", message: signed }));
    const cases: Array<[unknown, string | undefined]> = [
      ["not json", undefined],
      ["[1,2]", undefined],
      [JSON.stringify({ ...good, type: "bogus" }), "type"],
      [JSON.stringify({ ...good, deviceId: "0x1234" }), "deviceId"],
      [JSON.stringify({ ...good, second: -1 }), "second"],
      [JSON.stringify({ ...good, second: 1.5 }), "second"],
      [JSON.stringify({ ...good, second: "01" }), "second"],
      [JSON.stringify({ ...good, second: "18446744073709551616" }), "second"],
      [JSON.stringify({ ...good, seq: 0 }), "seq"],
      [JSON.stringify({ ...good, signature: "0x00" }), "signature"],
      [JSON.stringify({ ...good, extra: true }), "extra"],
      [42, undefined],
    ];
    for (const [frame, field] of cases) {
      const error = parseError(frame);
      expect(error.code, String(frame)).to.equal("MALFORMED_MESSAGE");
      expect(error.retryable).to.equal(false);
      expect(error.details.field).to.equal(field);
    }
  });

  it("error frames carry code, finality and seq", () => {
    const frame = encodeServerToDevice({ type: "error", code: "SEQ_GAP", retryable: true, message: "expected seq 4", seq: 6n, details: { expectedSeq: 4 } });
    expect(parseServerToDevice(frame)).to.deep.equal({ type: "error", code: "SEQ_GAP", retryable: true, message: "expected seq 4", seq: 6n, details: { expectedSeq: 4 } });
    expect(() => parseServerToDevice(JSON.stringify({ type: "error", code: "NOPE" }))).to.throw(ProtocolError);
  });

  it("challenge with another protocol version is rejected", () => {
    try {
      parseServerToDevice(JSON.stringify({ type: "challenge", protocolVersion: 2, challenge: "0x" + "00".repeat(32) }));
      expect.fail("expected a ProtocolError");
    } catch (error) {
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).code).to.equal("UNSUPPORTED_PROTOCOL_VERSION");
    }
  });
});
