import { expect } from "chai";
import { rmSync } from "node:fs";
import { SimClock } from "../../protocol/clock.ts";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { AgentStore } from "../../device-agent/agent-store.ts";
import { BUILD_SECOND, OutageAttester } from "../../device-agent/attester.ts";
import { KeyRing } from "../../device-agent/key-ring.ts";
import { createLogger, type LogFields } from "../../device-agent/logger.ts";
import { TEST_PASSWORD, createTestDevice, type TestDevice } from "../helpers/agent-process.ts";

const DOMAIN = protocolDomain(31_337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const T = 1_800_000_000;

describe("outage attester", () => {
  let device: TestDevice;
  let store: AgentStore;
  let realNowMs: number;
  let logs: (LogFields & { message: string; level: string })[];
  let attester: OutageAttester;
  let hasher: DeviceMessageHasher;

  /** Sets the simulated clock to `second` (scale 1, driven by hand). */
  function setClock(second: number): void {
    realNowMs = second * 1000;
  }

  beforeEach(async () => {
    device = await createTestDevice();
    store = AgentStore.open(device.dataDir);
    const keys = await KeyRing.load(device.keystore, TEST_PASSWORD);
    logs = [];
    const logger = createLogger("debug", {}, (line) => {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null && "message" in parsed && "level" in parsed && typeof parsed.message === "string" && typeof parsed.level === "string") {
        logs.push({ ...parsed, message: parsed.message, level: parsed.level });
      }
    });
    hasher = new DeviceMessageHasher(DOMAIN);
    setClock(T);
    const clock = new SimClock({ realAnchorMs: 0, simAnchorSeconds: 0, scale: 1 }, () => realNowMs);
    attester = new OutageAttester({
      store,
      keys,
      hasher,
      clock,
      deviceId: device.deviceId,
      maxQueuedMessages: 1_000,
      minClockSecond: BUILD_SECOND,
      settleRealMs: 0,
      logger,
      onSigned: () => {},
    });
  });

  afterEach(() => {
    attester.stop();
    store.close();
    rmSync(device.dataDir, { recursive: true, force: true });
  });

  it("signs each passed off-second and the restoration", () => {
    attester.handleChange({ state: "off", atSecond: T - 10, source: "test" });
    expect(attester.signDue()).to.equal(10);
    attester.handleChange({ state: "on", atSecond: T, source: "test" });
    expect(attester.signDue()).to.equal(1);

    const queued = store.queuedAfter(0, 100);
    expect(queued.map((message) => [message.kind, message.second, message.seq])).to.deep.equal([
      ...Array.from({ length: 10 }, (_, i) => ["attestation", T - 10 + i, i + 1]),
      ["restoration", T, 11],
    ]);
    for (const message of queued) {
      const signer = hasher.recoverSigner({ kind: message.kind, deviceId: device.deviceId, second: BigInt(message.second), seq: BigInt(message.seq), signature: message.signature });
      expect(signer).to.equal(device.deviceId);
    }
    expect(store.nextSeq()).to.equal(12);
    expect(store.lastSignedSecond()).to.equal(T);
  });

  it("refuses to sign before the build date", () => {
    setClock(BUILD_SECOND - 1);
    attester.handleChange({ state: "off", atSecond: BUILD_SECOND - 100, source: "test" });
    expect(attester.checkClock(BUILD_SECOND - 1)).to.equal("before-build");
    expect(attester.signDue()).to.equal(0);
    expect(store.queuedCount()).to.equal(0);
    const warning = logs.find((line) => line.message === "power is off but the clock is not trusted; not attesting");
    expect(warning?.reason).to.equal("before-build");

    // Once the clock is set, attestations start at the first trusted second, never before it.
    setClock(T);
    expect(attester.signDue()).to.equal(0);
    setClock(T + 3);
    expect(attester.signDue()).to.equal(3);
    expect(store.queuedAfter(0, 10).map((message) => message.second)).to.deep.equal([T, T + 1, T + 2]);
  });

  it("refuses to sign behind its last signed second", () => {
    attester.handleChange({ state: "off", atSecond: T - 5, source: "test" });
    expect(attester.signDue()).to.equal(5);
    setClock(T - 60);
    expect(attester.checkClock(T - 60)).to.equal("behind-last-signed");
    expect(attester.signDue()).to.equal(0);
    const warning = logs.find((line) => line.message === "clock is not trusted; not signing");
    expect(warning?.reason).to.equal("behind-last-signed");
    expect(warning?.lastSignedSecond).to.equal(T - 1);
    setClock(T + 2);
    expect(attester.signDue()).to.equal(2);
    expect(store.queuedAfter(0, 10).map((message) => message.second)).to.deep.equal([T - 5, T - 4, T - 3, T - 2, T - 1, T, T + 1]);
  });

  it("never reuses a seq after reopening the store", () => {
    attester.handleChange({ state: "off", atSecond: T - 3, source: "test" });
    expect(attester.signDue()).to.equal(3);
    store.acknowledge([1, 2, 3]);
    store.close();
    store = AgentStore.open(device.dataDir);
    expect(store.nextSeq()).to.equal(4);
    expect(store.queuedCount()).to.equal(0);
    expect(store.acknowledgedCount()).to.equal(3);
  });
});
