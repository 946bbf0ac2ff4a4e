import { expect } from "chai";
import { amountOwedForRuns, type OffRun } from "../../protocol/compensation.ts";
import { SigningKey } from "ethers";
import { DeviceMessageHasher, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import { startOracleNode } from "../../oracle-node/node.ts";
import { clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice } from "../helpers/oracle-device.ts";

/** Off-second runs with gaps below and above the 300-second merge gap. */
function runsBefore(now: number): OffRun[] {
  return [
    { fromSecond: now - 900, toSecond: now - 881 },
    { fromSecond: now - 870, toSecond: now - 861 },
    { fromSecond: now - 500, toSecond: now - 471 },
    { fromSecond: now - 40, toSecond: now - 31 },
  ];
}

type Settled = { balance: bigint; batches: number };

/** Settles the same signed messages on `chain` with one batch window and entry limit. */
async function settle(chain: OracleChain, messages: readonly SignedDeviceMessage[], now: number, wallet: string, expected: bigint, options: { batchWindowRealMs: number; maxBatchEntries: number; chunk: number }): Promise<Settled> {
  const key = testDeviceKey("windows");
  const { logger } = memoryLogger("warn");
  const node = await startOracleNode(
    testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("windows"), batchWindowRealMs: options.batchWindowRealMs, maxBatchEntries: options.maxBatchEntries }),
    logger,
  );
  try {
    const { device } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    for (let index = 0; index < messages.length; index += options.chunk) {
      const answers = await device.sendAll(messages.slice(index, index + options.chunk));
      expect(answers.every((answer) => answer.type === "ack")).to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitFor("the payout", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    await device.close();
    return { balance: await chain.balanceOf(wallet), batches: await chain.lastBatchSequence() };
  } finally {
    await node.stop();
  }
}

describe("oracle node batch windows", () => {
  it("pays the same total to the wei whatever the windows", async () => {
    const fine = await createOracleChain();
    const coarse = await createOracleChain();
    try {
      expect(fine.poolAddress).to.equal(coarse.poolAddress);
      const key = testDeviceKey("windows");
      const wallet = testWallet("windows");
      await fine.registerDevice(key, wallet);
      await coarse.registerDevice(key, wallet);
      const now = Math.min(await fine.advanceTime(1_200), await coarse.advanceTime(1_200));
      const runs = runsBefore(now);
      // Both chains deployed the pool at the same address, so one set of signatures is valid on both.
      const hasher = new DeviceMessageHasher(fine.domain);
      const signingKey = new SigningKey(key.privateKey);
      const messages: SignedDeviceMessage[] = [];
      let seq = 1;
      for (const run of runs) {
        for (let second = run.fromSecond; second <= run.toSecond; second++) {
          messages.push(hasher.sign({ kind: "attestation", deviceId: key.address, second: BigInt(second), seq: BigInt(seq++) }, signingKey));
        }
        messages.push(hasher.sign({ kind: "restoration", deviceId: key.address, second: BigInt(run.toSecond + 1), seq: BigInt(seq++) }, signingKey));
      }
      const expected = amountOwedForRuns(fine.schedule, runs).total;

      const small = await settle(fine, messages, now, wallet, expected, { batchWindowRealMs: 50, maxBatchEntries: 1, chunk: 7 });
      const large = await settle(coarse, messages, now, wallet, expected, { batchWindowRealMs: 1_500, maxBatchEntries: 200, chunk: messages.length });
      expect(small.balance).to.equal(expected);
      expect(large.balance).to.equal(expected);
      expect(small.batches).to.be.greaterThan(large.batches);
    } finally {
      await fine.close();
      await coarse.close();
    }
  });
});
