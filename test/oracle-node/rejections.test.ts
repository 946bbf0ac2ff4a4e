import { expect } from "chai";
import { Signature, SigningKey, Wallet, getBytes, hexlify, id } from "ethers";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { DeviceMessageHasher, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { SECP256K1_N } from "../../protocol/signature.ts";
import { MAX_FRAME_BYTES, encodeDeviceToServer, type ServerToDeviceMessage } from "../../protocol/wire.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { FEEDER_NORTH, clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

/** Returns the code of an error reply, or "ack". */
function outcome(answer: ServerToDeviceMessage): string {
  if (answer.type === "error") {
    return answer.code;
  }
  return answer.type;
}

/** Returns the high-s twin of a canonical signature: same r, s' = n - s, the other v. */
function highS(signature: string): string {
  const parsed = Signature.from(signature);
  const s = SECP256K1_N - BigInt(parsed.s);
  const v = parsed.v === 27 ? 28 : 27;
  return hexlify(new Uint8Array([...getBytes(parsed.r), ...getBytes("0x" + s.toString(16).padStart(64, "0")), v]));
}

/** Returns the signature with v of 0 or 1 instead of 27 or 28. */
function lowV(signature: string): string {
  const bytes = getBytes(signature);
  bytes[64] = (bytes[64] ?? 27) - 27;
  return hexlify(bytes);
}

describe("oracle node rejections", () => {
  let chain: OracleChain;
  let node: OracleNode;
  let url: string;
  let now: number;
  let rotationSecond: number;
  const key = testDeviceKey("reject-a");
  const wallet = testWallet("reject-a");
  const rotatingKey = testDeviceKey("reject-rotating");
  const newKey = testDeviceKey("reject-rotating-new");
  const rotatingWallet = testWallet("reject-rotating");

  before(async () => {
    chain = await createOracleChain();
    await chain.registerDevice(key, wallet);
    await chain.advanceTime(400);
    await chain.registerDevice(rotatingKey, rotatingWallet);
    rotationSecond = (await chain.latestTimestamp()) + 30;
    await (await chain.registry.getFunction("rotateKey")(rotatingKey.address, newKey.address, rotationSecond)).wait();
    now = await chain.advanceTime(800);
    const { logger } = memoryLogger("warn");
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("reject"), maxBackfillAgeSimSeconds: 900 }), logger);
    url = `ws://127.0.0.1:${node.port}`;
  });

  after(async () => {
    await node.stop();
    await chain.close();
  });

  it("rejects each invalid message with its code and pays only valid seconds", async () => {
    const { device } = await TestDevice.connect(url, chain.domain, key.address, key);
    const base = now - 100;
    const valid = attestRun(device, key, base, base + 4, 1);
    expect((await device.sendAll(valid)).map(outcome)).to.deep.equal(["ack", "ack", "ack", "ack", "ack"]);

    const next = device.sign("attestation", base + 5, 6, key);
    const forged = device.sign("attestation", base + 5, 6, new Wallet(id("someone else")));
    const otherChain = new DeviceMessageHasher(protocolDomain(1n, chain.poolAddress)).sign(
      { kind: "attestation", deviceId: key.address, second: BigInt(base + 5), seq: 6n },
      new SigningKey(key.privateKey),
    );
    const otherPool = new DeviceMessageHasher(protocolDomain(chain.chainId, chain.registryAddress)).sign(
      { kind: "attestation", deviceId: key.address, second: BigInt(base + 5), seq: 6n },
      new SigningKey(key.privateKey),
    );
    const cases: Array<[string, SignedDeviceMessage, string]> = [
      ["forged signature", forged, "BAD_SIGNATURE"],
      ["high-s twin", { ...next, signature: highS(next.signature) }, "NON_CANONICAL_SIGNATURE"],
      ["v of 0 or 1", { ...next, signature: lowV(next.signature) }, "NON_CANONICAL_SIGNATURE"],
      ["another chain's domain", otherChain, "BAD_SIGNATURE"],
      ["another contract's domain", otherPool, "BAD_SIGNATURE"],
      ["future second", device.sign("attestation", now + 600, 6, key), "SECOND_IN_FUTURE"],
      ["seq gap", device.sign("attestation", base + 5, 8, key), "SEQ_GAP"],
      ["replayed seq with other content", device.sign("attestation", base + 9, 3, key), "SEQ_REPLAYED"],
      ["another device's id", { ...next, deviceId: testDeviceKey("reject-b").address }, "DEVICE_MISMATCH"],
    ];
    for (const [name, message, code] of cases) {
      expect(outcome(await device.send(message)), name).to.equal(code);
    }

    // Correctly signed but final rejections use up their seq.
    expect(outcome(await device.send(device.sign("attestation", now - 1_000, 6, key))), "stale second").to.equal("SECOND_TOO_OLD");
    expect(outcome(await device.send(device.sign("attestation", base + 2, 7, key))), "second going backwards").to.equal("SECOND_OUT_OF_ORDER");
    expect(outcome(await device.send(valid[2] ?? next)), "identical re-send").to.equal("ack");
    expect(outcome(await device.send(device.sign("attestation", now - 1_000, 6, key))), "re-send of a rejected seq").to.equal("SECOND_TOO_OLD");
    expect(outcome(await device.send(device.sign("attestation", base + 5, 8, key))), "next valid second").to.equal("ack");

    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: base, toSecond: base + 5 }]).total;
    await waitFor("the valid seconds' payout", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    // Another settlement round must not pay anything more.
    await chain.advanceTime(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await chain.balanceOf(wallet)).to.equal(expected);
    await device.close();

    const rejected = await node.metrics.messagesRejected.get();
    const count = (code: string): number => rejected.values.find((value) => value.labels.code === code)?.value ?? 0;
    expect(count("BAD_SIGNATURE")).to.equal(3);
    expect(count("NON_CANONICAL_SIGNATURE")).to.equal(2);
    expect(count("SECOND_TOO_OLD")).to.equal(2);
  });

  it("rejects malformed frames and messages before hello", async () => {
    const { device, challenge } = await TestDevice.connect(url, chain.domain, key.address, undefined);
    const early = device.sign("attestation", now - 50, 1, key);
    expect(outcome(await device.send(early))).to.equal("HELLO_REQUIRED");
    const malformed = device.next((message) => message.type === "error");
    device.sendRaw("{not json");
    const answer = await malformed;
    expect(outcome(answer)).to.equal("MALFORMED_MESSAGE");
    const wrongField = device.next((message) => message.type === "error");
    device.sendRaw(JSON.stringify({ ...JSON.parse(encodeDeviceToServer({ type: "attestation", message: early })), second: -1 }));
    const fieldAnswer = await wrongField;
    expect(fieldAnswer.type === "error" ? fieldAnswer.details : undefined).to.deep.equal({ field: "second" });
    const mismatch = device.next((message) => message.type === "error");
    device.sendRaw(encodeDeviceToServer({ type: "hello", deviceId: key.address, challenge: id("not the challenge"), signature: early.signature }));
    expect(outcome(await mismatch)).to.equal("CHALLENGE_MISMATCH");
    expect(await device.closed()).to.equal(1008);
    expect(challenge).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("closes an oversized frame's connection with 1009 and stays up", async () => {
    const { device } = await TestDevice.connect(url, chain.domain, key.address, key);
    device.sendRaw("x".repeat(MAX_FRAME_BYTES + 1));
    expect(await device.closed()).to.equal(1009);
    const { welcome, device: again } = await TestDevice.connect(url, chain.domain, key.address, key);
    expect(welcome.type).to.equal("welcome");
    await again.close();
  });

  it("rejects unregistered and revoked devices", async () => {
    const stranger = testDeviceKey("reject-unregistered");
    const { welcome: refused, device: strangerDevice } = await TestDevice.connect(url, chain.domain, stranger.address, stranger);
    expect(outcome(refused)).to.equal("DEVICE_NOT_REGISTERED");
    expect(await strangerDevice.closed()).to.equal(1008);

    const revokedKey = testDeviceKey("reject-revoked");
    const revokedWallet = testWallet("reject-revoked");
    await chain.registerDevice(revokedKey, revokedWallet, FEEDER_NORTH);
    const { device, welcome } = await waitFor("the registration to be mirrored", async () => {
      const attempt = await TestDevice.connect(url, chain.domain, revokedKey.address, revokedKey);
      return attempt.welcome.type === "welcome" ? attempt : undefined;
    });
    expect(welcome.type).to.equal("welcome");
    const second = await chain.latestTimestamp();
    await (await chain.registry.getFunction("revokeDevice")(revokedKey.address)).wait();
    const answer = await waitFor("the revocation to be mirrored", async () => {
      const reply = await device.send(device.sign("attestation", second, 1, revokedKey));
      return outcome(reply) === "DEVICE_REVOKED" ? reply : undefined;
    });
    expect(outcome(answer)).to.equal("DEVICE_REVOKED");
    const { welcome: refusedAgain } = await TestDevice.connect(url, chain.domain, revokedKey.address, revokedKey);
    expect(outcome(refusedAgain)).to.equal("DEVICE_REVOKED");
    await device.close();
    expect(await chain.balanceOf(revokedWallet)).to.equal(0n);
  });

  it("rejects seconds signed with a rotated-out key", async () => {
    const { device, welcome } = await TestDevice.connect(url, chain.domain, rotatingKey.address, newKey);
    expect(welcome.type).to.equal("welcome");
    expect(outcome(await device.send(device.sign("attestation", rotationSecond - 1, 1, rotatingKey)))).to.equal("ack");
    expect(outcome(await device.send(device.sign("attestation", rotationSecond, 2, rotatingKey)))).to.equal("KEY_NOT_VALID_AT_SECOND");
    expect(outcome(await device.send(device.sign("attestation", rotationSecond, 2, newKey)))).to.equal("ack");
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: rotationSecond - 1, toSecond: rotationSecond }]).total;
    await waitFor("the rotated device's payout", async () => ((await chain.balanceOf(rotatingWallet)) === expected ? true : undefined));
    await device.close();
  });
});
