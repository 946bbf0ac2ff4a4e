import { expect } from "chai";
import { Wallet, id } from "ethers";
import { ProtocolError } from "../../protocol/errors.ts";
import { parseDeviceToServer } from "../../protocol/wire.ts";
import { parseDeviceFrame, rawDeviceIdOf, type KnownDeviceId } from "../../oracle-node/server/device-frame.ts";

const ADDRESS = new Wallet(id("device frame")).address;
const OTHER = new Wallet(id("device frame other")).address;
const SIGNATURE = "0x" + "ab".repeat(32) + "cd".repeat(32) + "1b";

/** Returns the parsed message as JSON (bigints as strings), or the error code and field. */
function outcome(parse: () => unknown): string {
  try {
    return JSON.stringify(parse(), (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : value));
  } catch (error) {
    if (error instanceof ProtocolError) {
      return `${error.code} ${JSON.stringify(error.details)}: ${error.message}`;
    }
    throw error;
  }
}

function frame(fields: Record<string, unknown>): string {
  return JSON.stringify({ type: "attestation", deviceId: ADDRESS, second: 1_800_000_000, seq: 7, signature: SIGNATURE, ...fields });
}

describe("oracle device frame parsing", () => {
  const known: KnownDeviceId = { raw: ADDRESS, address: ADDRESS };
  const cases: Array<[string, string]> = [
    ["attestation", frame({})],
    ["restoration", frame({ type: "restoration" })],
    ["upper-case signature", frame({ signature: SIGNATURE.toUpperCase().replace("0X", "0x") })],
    ["seq as decimal string", frame({ seq: "18446744073709551615" })],
    ["lower-case deviceId", frame({ deviceId: ADDRESS.toLowerCase() })],
    ["another device", frame({ deviceId: OTHER })],
    ["bad checksum", frame({ deviceId: ADDRESS.slice(0, 2) + ADDRESS.slice(2, 3).toLowerCase() + ADDRESS.slice(3, 41).toUpperCase() + ADDRESS.slice(41) })],
    ["seq 0", frame({ seq: 0 })],
    ["negative second", frame({ second: -1 })],
    ["second above uint64", frame({ second: "18446744073709551616" })],
    ["fractional seq", frame({ seq: 1.5 })],
    ["missing signature", frame({ signature: undefined })],
    ["short signature", frame({ signature: SIGNATURE.slice(0, 130) })],
    ["unknown field", frame({ extra: 1 })],
    ["proto key", `{"type":"attestation","deviceId":"${ADDRESS}","second":1,"seq":1,"signature":"${SIGNATURE}","__proto__":{}}`],
    ["duplicate deviceId", `{"type":"attestation","deviceId":"${OTHER}","deviceId":"${ADDRESS}","second":1,"seq":1,"signature":"${SIGNATURE}"}`],
    ["hello", JSON.stringify({ type: "hello", deviceId: ADDRESS, challenge: "0x" + "11".repeat(32), signature: SIGNATURE })],
    ["unknown type", frame({ type: "ping" })],
    ["array", "[1,2]"],
    ["not JSON", "{"],
  ];

  for (const [name, text] of cases) {
    it(`matches the protocol parser: ${name}`, () => {
      expect(outcome(() => parseDeviceFrame(text, known))).to.equal(outcome(() => parseDeviceToServer(text)));
      expect(outcome(() => parseDeviceFrame(text, undefined))).to.equal(outcome(() => parseDeviceToServer(text)));
    });
  }

  it("returns the known checksummed address", () => {
    const lower: KnownDeviceId = { raw: ADDRESS.toLowerCase(), address: ADDRESS };
    const parsed = parseDeviceFrame(frame({ deviceId: ADDRESS.toLowerCase() }), lower);
    expect(parsed.type).to.equal("attestation");
    expect(parsed.type === "attestation" ? parsed.message.deviceId : undefined).to.equal(ADDRESS);
  });

  it("reads the raw deviceId string", () => {
    expect(rawDeviceIdOf(frame({ deviceId: ADDRESS.toLowerCase() }))).to.equal(ADDRESS.toLowerCase());
    expect(rawDeviceIdOf(frame({ deviceId: 5 }))).to.equal(undefined);
    expect(rawDeviceIdOf("{")).to.equal(undefined);
  });
});
