import { expect } from "chai";
import hre from "hardhat";
import {
  DEVICE_A,
  DEVICE_B,
  FEEDER_A,
  FEEDER_B,
  FEEDER_TEXT,
  OFF_SECONDS_A,
  OFF_SECONDS_B,
  OWED_A,
  OWED_B,
  WALLET_A,
  WALLET_B,
  captureTaskIo,
  connection,
  deploySettledChain,
} from "./task-chain-fixture.ts";
import { formatUnixSecond } from "../../tasks/value-format.ts";

const { networkHelpers, ethers } = connection;

async function runEvents(options: Record<string, unknown>) {
  const io = captureTaskIo();
  const result: unknown = await hre.tasks.getTask("events").run(options);
  return { io, result };
}

async function blockTime(blockNumber: number): Promise<number> {
  const block = await ethers.provider.getBlock(blockNumber);
  if (block === null) {
    throw new Error(`block ${blockNumber} not found`);
  }
  return block.timestamp;
}

/** Event names of a JSON listing, in order. */
function eventNames(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) {
    throw new Error("the listing is not an array");
  }
  return parsed.map((row: { event: string }) => row.event);
}

describe("events task", function () {
  it("prints settled outages as a table", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io, result } = await runEvents({ pool: chain.poolAddress, type: "OutageSettled" });

    expect(result).to.deep.equal({ success: true, value: undefined });
    const block = String(chain.blocks.settleBlock);
    const time = formatUnixSecond(chain.settleTime);
    const start = chain.outageStart;
    const rowA =
      `device=${DEVICE_A.address} wallet=${WALLET_A} feederId=${FEEDER_A} ("${FEEDER_TEXT}") batchSequence=1 ` +
      `outageStart=${start} (${formatUnixSecond(start)}) offSecondsBefore=0 fromSecond=${start} (${formatUnixSecond(start)}) ` +
      `toSecond=${start + OFF_SECONDS_A - 1n} (${formatUnixSecond(start + OFF_SECONDS_A - 1n)}) ` +
      `amountOwed=0.013888888888888888 eINR (13888888888888888 wei) amountPaid=0.013888888888888888 eINR (13888888888888888 wei) ` +
      `amountDeferred=0 eINR (0 wei)`;
    const rowB =
      `device=${DEVICE_B.address} wallet=${WALLET_B} feederId=${FEEDER_B} batchSequence=1 ` +
      `outageStart=${start} (${formatUnixSecond(start)}) offSecondsBefore=0 fromSecond=${start} (${formatUnixSecond(start)}) ` +
      `toSecond=${start + OFF_SECONDS_B - 1n} (${formatUnixSecond(start + OFF_SECONDS_B - 1n)}) ` +
      `amountOwed=50 eINR (50000000000000000000 wei) amountPaid=50 eINR (50000000000000000000 wei) amountDeferred=0 eINR (0 wei)`;
    const pad = (text: string, width: number) => text.padEnd(width);
    const blockWidth = Math.max("BLOCK".length, block.length);
    const expected = [
      `${pad("BLOCK", blockWidth)}  ${pad("TIME", time.length)}  CONTRACT    EVENT          ARGUMENTS`,
      `${pad(block, blockWidth)}  ${time}  PayoutPool  OutageSettled  ${rowA}`,
      `${pad(block, blockWidth)}  ${time}  PayoutPool  OutageSettled  ${rowB}`,
    ].join("\n");
    expect(io.out.text).to.equal(`${expected}\n`);
    expect(io.err.text).to.equal("");
  });

  it("prints settled outages as JSON", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io } = await runEvents({ pool: chain.poolAddress, type: "OutageSettled,BatchSettled", json: true });

    const rows: unknown = JSON.parse(io.out.text);
    const receipt = await ethers.provider.getTransactionReceipt((await ethers.provider.getBlock(chain.blocks.settleBlock))?.transactions[0] ?? "");
    const start = chain.outageStart;
    const common = {
      blockNumber: chain.blocks.settleBlock,
      blockTimestamp: chain.settleTime,
      time: formatUnixSecond(chain.settleTime),
      transactionHash: receipt?.hash,
      contract: "PayoutPool",
      address: chain.poolAddress,
    };
    expect(rows).to.deep.equal([
      {
        ...common,
        logIndex: 1,
        event: "OutageSettled",
        args: {
          device: DEVICE_A.address,
          wallet: WALLET_A,
          feederId: FEEDER_A,
          batchSequence: "1",
          outageStart: String(start),
          offSecondsBefore: "0",
          fromSecond: String(start),
          toSecond: String(start + OFF_SECONDS_A - 1n),
          amountOwed: String(OWED_A),
          amountPaid: String(OWED_A),
          amountDeferred: "0",
        },
        formatted: {
          feederId: FEEDER_TEXT,
          outageStart: formatUnixSecond(start),
          fromSecond: formatUnixSecond(start),
          toSecond: formatUnixSecond(start + OFF_SECONDS_A - 1n),
          amountOwed: "0.013888888888888888",
          amountPaid: "0.013888888888888888",
          amountDeferred: "0",
        },
      },
      {
        ...common,
        logIndex: 3,
        event: "OutageSettled",
        args: {
          device: DEVICE_B.address,
          wallet: WALLET_B,
          feederId: FEEDER_B,
          batchSequence: "1",
          outageStart: String(start),
          offSecondsBefore: "0",
          fromSecond: String(start),
          toSecond: String(start + OFF_SECONDS_B - 1n),
          amountOwed: String(OWED_B),
          amountPaid: String(OWED_B),
          amountDeferred: "0",
        },
        formatted: {
          outageStart: formatUnixSecond(start),
          fromSecond: formatUnixSecond(start),
          toSecond: formatUnixSecond(start + OFF_SECONDS_B - 1n),
          amountOwed: "50",
          amountPaid: "50",
          amountDeferred: "0",
        },
      },
      {
        ...common,
        logIndex: 4,
        event: "BatchSettled",
        args: {
          sequence: "1",
          attestationsRoot: ethers.ZeroHash,
          entryCount: "2",
          totalOwed: String(OWED_A + OWED_B),
          totalPaid: String(OWED_A + OWED_B),
        },
        formatted: { totalOwed: "50.013888888888888888", totalPaid: "50.013888888888888888" },
      },
    ]);
  });

  it("prints registrations as CSV", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io } = await runEvents({ pool: chain.poolAddress, type: "DeviceRegistered", csv: true });

    const rowFor = async (blockNumber: number, device: string, wallet: string, feeder: string, feederText: string) => {
      const block = await ethers.provider.getBlock(blockNumber);
      const timestamp = await blockTime(blockNumber);
      return [blockNumber, timestamp, formatUnixSecond(timestamp), block?.transactions[0], 0, "DeviceRegistry", chain.registryAddress, "DeviceRegistered", device, wallet, feeder, feederText, device, timestamp].join(",");
    };
    expect(io.out.text).to.equal(
      [
        "block,timestamp,time,transaction,log_index,contract,address,event,device,wallet,feederId,feederId_text,key,validFrom",
        await rowFor(chain.blocks.registerBlockA, DEVICE_A.address, WALLET_A, FEEDER_A, FEEDER_TEXT),
        await rowFor(chain.blocks.registerBlockB, DEVICE_B.address, WALLET_B, FEEDER_B, ""),
        "",
      ].join("\r\n"),
    );
  });

  it("lists every event of the deployment in chain order", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io } = await runEvents({ pool: chain.poolAddress, json: true, blockRange: 1 });

    expect(eventNames(io.out.text)).to.deep.equal([
      "RoleGranted",
      "RoleGranted",
      "ConfigSet",
      "ScheduleSet",
      "PoolFunded",
      "DeviceRegistered",
      "DeviceRegistered",
      "OutageSettled",
      "OutageSettled",
      "BatchSettled",
    ]);
  });

  it("filters by device, wallet and feeder", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);

    const byDevice = await runEvents({ pool: chain.poolAddress, json: true, device: DEVICE_A.address.toLowerCase() });
    expect(eventNames(byDevice.io.out.text)).to.deep.equal(["DeviceRegistered", "OutageSettled"]);

    const byWallet = await runEvents({ pool: chain.poolAddress, json: true, wallet: WALLET_B });
    const walletRows: { args: { device: string } }[] = JSON.parse(byWallet.io.out.text);
    expect(walletRows.map((row) => row.args.device)).to.deep.equal([DEVICE_B.address, DEVICE_B.address]);

    const byFeederText = await runEvents({ pool: chain.poolAddress, json: true, feeder: FEEDER_TEXT });
    const feederRows: { args: { device: string } }[] = JSON.parse(byFeederText.io.out.text);
    expect(feederRows.map((row) => row.args.device)).to.deep.equal([DEVICE_A.address, DEVICE_A.address]);

    const byFeederHex = await runEvents({ pool: chain.poolAddress, json: true, feeder: FEEDER_B, type: "OutageSettled" });
    expect(eventNames(byFeederHex.io.out.text)).to.deep.equal(["OutageSettled"]);
  });

  it("selects blocks by number and by time", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);

    const byBlock = await runEvents({ pool: chain.poolAddress, json: true, fromBlock: String(chain.blocks.registerBlockA), toBlock: String(chain.blocks.registerBlockB) });
    expect(eventNames(byBlock.io.out.text)).to.deep.equal(["DeviceRegistered", "DeviceRegistered"]);

    const since = new Date(chain.settleTime * 1000).toISOString();
    const byTime = await runEvents({ pool: chain.poolAddress, json: true, since, until: String(chain.settleTime) });
    expect(eventNames(byTime.io.out.text)).to.deep.equal(["OutageSettled", "OutageSettled", "BatchSettled"]);

    const registerTime = await blockTime(chain.blocks.registerBlockA);
    const untilRegistration = await runEvents({ pool: chain.poolAddress, json: true, since: String(registerTime), until: String(registerTime) });
    expect(eventNames(untilRegistration.io.out.text)).to.deep.equal(["DeviceRegistered"]);

    const future = await runEvents({ pool: chain.poolAddress, since: String(chain.settleTime + 10 * 86_400) });
    expect(future.io.out.text).to.equal("no events\n");
  });

  it("rejects bad options with the fix", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "OutageSettle" }, '--type "OutageSettle" is not an event of the pool or the registry: use one of '],
      [{ json: true, csv: true }, "--json and --csv both set the output format: pass one of them"],
      [{ device: "0x1234" }, '--device "0x1234" is not an address: pass 0x followed by 40 hex digits'],
      [{ fromBlock: "9", toBlock: "3" }, "--from-block 9 is after --to-block 3: swap them or widen the range"],
      [{ fromBlock: "1", since: "0" }, "--from-block/--to-block and --since/--until both select a range: pass blocks or times, not both"],
      [{ since: "yesterday" }, '--since "yesterday" is not a time: pass unix seconds such as 1767225600 or an ISO time such as 2026-01-01T00:00:00Z'],
      [{ blockRange: 0 }, "--block-range 0 is not a positive number of blocks: pass the number of blocks per eth_getLogs request, such as 2000"],
      [{ feeder: "0x1234" }, "--feeder 0x1234 is hex but not 32 bytes: pass 0x followed by 64 hex digits, or the feeder name as text"],
    ];
    for (const [options, message] of cases) {
      const { io, result } = await runEvents({ pool: chain.poolAddress, ...options });
      expect(result, JSON.stringify(options)).to.have.property("success", false);
      expect(io.err.text, JSON.stringify(options)).to.satisfy((text: string) => text.startsWith(`error: ${message}`));
      expect(io.out.text, JSON.stringify(options)).to.equal("");
    }
  });

  it("rejects a pool address without a contract", async function () {
    await networkHelpers.loadFixture(deploySettledChain);
    const { io, result } = await runEvents({ pool: WALLET_A });

    expect(result).to.have.property("success", false);
    expect(io.err.text).to.equal(
      `error: no contract at ${WALLET_A} (from --pool) on chain 31337. Without --network or --rpc-url the task reads a fresh in-process chain: pass --network localhost (or --rpc-url URL) to read a running node. If you did, the chain was restarted after that deployment: deploy again or pass the current --pool\n`,
    );
  });
});
