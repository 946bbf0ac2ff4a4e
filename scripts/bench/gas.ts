import { fileURLToPath } from "node:url";
import { Wallet, ZeroHash, id } from "ethers";
import { network } from "hardhat";
import { signBatchReport, type BatchEntry } from "../../protocol/batch-report.ts";
import { protocolDomain } from "../../protocol/eip712.ts";

/** Gas of one settle() call. */
export type GasResult = {
  entries: number;
  signatures: number;
  gasUsed: bigint;
  /** gasUsed / entries, the 21,000 base cost and signature checks included. */
  gasPerEntry: bigint;
};

const RUPEE = 10n ** 18n;
const BATCH_SIZES = [1, 100, 500] as const;
const SIGNATURE_COUNTS = [1, 3] as const;
const WARM_UP_CHUNK = 100;
/** Each measured entry continues its device's outage by this many off-seconds. */
const ENTRY_SECONDS = 60n;
/** The warm-up entry takes every outage past the unpaid first hour, so measured entries pay tokens. */
const WARM_UP_SECONDS = 4_000n;

/**
 * Measures the gas of settle() per entry, on an in-process Hardhat network.
 *
 * State measured (steady state): 500 registered devices on distinct wallets that already hold tokens,
 * each with an outage already settled past its first hour, so every measured entry continues that
 * outage in the 50 rupees/hour tier, writes an existing storage slot, pays a non-zero amount with one
 * token transfer and creates no debt. Storage is cold at the start of each transaction, as on a real
 * chain. The committee has three members; the threshold is set to the number of signatures measured.
 */
export async function runGasBenchmark(): Promise<GasResult[]> {
  const { ethers, networkHelpers } = await network.create();
  const [board] = await ethers.getSigners();
  if (board === undefined) throw new Error("the network has no accounts");
  const committee = [1, 2, 3].map((index) => new Wallet(id(`gas benchmark committee member ${index}`)));
  const committeeAddresses = committee.map((member) => member.address);

  const token = await ethers.deployContract("PayoutToken", [board.address]);
  const registry = await ethers.deployContract("DeviceRegistry", [board.address]);
  const pool = await ethers.deployContract("PayoutPool", [
    await token.getAddress(),
    await registry.getAddress(),
    board.address,
    committeeAddresses,
    1,
    [
      { startOffsetSeconds: 0n, ratePerHour: 0n },
      { startOffsetSeconds: 3_600n, ratePerHour: 50n * RUPEE },
      { startOffsetSeconds: 10_800n, ratePerHour: 100n * RUPEE },
    ],
    300n,
    0n,
  ]);
  const poolAddress = await pool.getAddress();
  const funding = 100_000_000n * RUPEE;
  await token.mint(board.address, funding);
  await token.approve(poolAddress, funding);
  await pool.fund(funding);

  const deviceCount = Math.max(...BATCH_SIZES);
  const deviceIds: string[] = [];
  for (let i = 0; i < deviceCount; i += 1) {
    const device = new Wallet(id(`gas benchmark device ${i}`)).address;
    const wallet = new Wallet(id(`gas benchmark wallet ${i}`)).address;
    await registry.registerDevice(device, device, wallet, id(`feeder ${i % 20}`));
    await token.mint(wallet, 1n);
    deviceIds.push(device);
  }
  await networkHelpers.time.increase(30 * 86_400);
  const start = BigInt(await networkHelpers.time.latest()) - 20n * 86_400n;
  const { chainId } = await ethers.provider.getNetwork();
  const domain = protocolDomain(chainId, poolAddress);

  const nextSecond = new Map<string, bigint>();
  const settle = async (entries: BatchEntry[], signers: readonly Wallet[]): Promise<bigint> => {
    const { configDigest } = await pool.committee();
    const sequence = (await pool.lastBatchSequence()) + 1n;
    const report = { configDigest, sequence, attestationsRoot: id(`attestations ${sequence}`), entries };
    const signatures = await Promise.all(signers.map((signer) => signBatchReport(domain, report, signer)));
    // The in-process network caps a transaction at 2^24 gas (16,777,216), as EIP-7825 does.
    const tx = await pool.settle(report, signatures, { gasLimit: 16_777_216n });
    const receipt = await tx.wait();
    if (receipt === null) throw new Error(`settle of batch ${sequence} has no receipt`);
    return receipt.gasUsed;
  };
  const entriesFor = (devices: string[], seconds: bigint): BatchEntry[] =>
    devices.map((deviceId) => {
      const fromSecond = nextSecond.get(deviceId) ?? start;
      nextSecond.set(deviceId, fromSecond + seconds);
      return { deviceId, fromSecond, toSecond: fromSecond + seconds - 1n };
    });

  for (let i = 0; i < deviceCount; i += WARM_UP_CHUNK) {
    await settle(entriesFor(deviceIds.slice(i, i + WARM_UP_CHUNK), WARM_UP_SECONDS), committee.slice(0, 1));
  }

  const results: GasResult[] = [];
  for (const signatures of SIGNATURE_COUNTS) {
    await pool.setCommittee(committeeAddresses, signatures);
    for (const entries of BATCH_SIZES) {
      const gasUsed = await settle(entriesFor(deviceIds.slice(0, entries), ENTRY_SECONDS), committee.slice(0, signatures));
      results.push({ entries, signatures, gasUsed, gasPerEntry: gasUsed / BigInt(entries) });
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await runGasBenchmark();
  for (const result of results) {
    console.log(
      JSON.stringify({
        entries: result.entries,
        signatures: result.signatures,
        gasUsed: result.gasUsed.toString(),
        gasPerEntry: result.gasPerEntry.toString(),
      }),
    );
  }
}
