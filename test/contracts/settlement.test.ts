import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, Signature, TypedDataEncoder, Wallet, id, keccak256, recoverAddress, toBeHex } from "ethers";
import { signBatchReport } from "../../protocol/batch-report.ts";
import { BATCH_REPORT_TYPES, protocolDomain, toEthersDomain } from "../../protocol/eip712.ts";
import { SECP256K1_N } from "../../protocol/signature.ts";
import { COMMITTEE, FEEDER_A, RUPEE, buildReport, deployPool, entry, registerDevices, settleNext, signReport } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

async function poolWithDevices() {
  const deployed = await deployPool(ethers);
  const devices = await registerDevices(deployed.registry, 3);
  await networkHelpers.time.increase(10 * 86_400);
  const now = BigInt(await networkHelpers.time.latest());
  return { ...deployed, ...devices, start: now - 5n * 86_400n };
}

function expectedDigest(configCount: bigint, chainId: bigint, pool: string, signers: string[], threshold: number): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["uint64", "uint256", "address", "address[]", "uint8"], [configCount, chainId, pool, signers, threshold]),
  );
}

describe("PayoutPool committee", function () {
  it("derives the config digest from count, chain, pool, signers and threshold", async function () {
    const { pool, poolAddress, chainId } = await networkHelpers.loadFixture(poolWithDevices);
    const signers = COMMITTEE.map((member) => member.address);

    const committee = await pool.committee();

    expect(committee.signers).to.deep.equal(signers);
    expect(committee.threshold).to.equal(2n);
    expect(committee.configCount).to.equal(1n);
    expect(committee.configDigest).to.equal(expectedDigest(1n, chainId, poolAddress, signers, 2));
  });

  it("changes the digest on every committee change", async function () {
    const { pool, poolAddress, chainId } = await networkHelpers.loadFixture(poolWithDevices);
    const signers = COMMITTEE.map((member) => member.address);
    const second = expectedDigest(2n, chainId, poolAddress, signers, 2);
    const third = expectedDigest(3n, chainId, poolAddress, signers, 2);

    await expect(pool.setCommittee(signers, 2)).to.emit(pool, "ConfigSet").withArgs(second, 2n, signers, 2n);
    await expect(pool.setCommittee(signers, 2)).to.emit(pool, "ConfigSet").withArgs(third, 3n, signers, 2n);
    expect(second).to.not.equal(third);
  });

  it("accepts any two of three members", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const [first, second, third] = COMMITTEE;

    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 9n)], [second!, third!])).to.emit(pool, "BatchSettled");
    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start + 10n, start + 19n)], [third!, first!])).to.emit(pool, "BatchSettled");
    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start + 20n, start + 29n)], [first!, second!, third!])).to.emit(
      pool,
      "BatchSettled",
    );
    expect(await pool.lastBatchSequence()).to.equal(3n);
  });

  it("rejects one signature when two are needed", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);

    await expect(settleNext(pool, domain, [], [COMMITTEE[0]!])).to.be.revertedWithCustomError(pool, "NotEnoughSignatures").withArgs(1n, 2n);
  });

  it("rejects the same member signing twice", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 1n, entries: [] });
    const signature = await signBatchReport(domain, report, COMMITTEE[0]!);

    await expect(pool.settle(report, [signature, signature]))
      .to.be.revertedWithCustomError(pool, "DuplicateSigner")
      .withArgs(COMMITTEE[0]!.address);
  });

  it("rejects a signer outside the committee", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    const outsider = new Wallet(id("not a committee member"));

    await expect(settleNext(pool, domain, [], [COMMITTEE[0]!, outsider]))
      .to.be.revertedWithCustomError(pool, "UnknownSigner")
      .withArgs(outsider.address);
  });

  it("rejects a report for another configuration", async function () {
    const { pool, domain, poolAddress } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const otherChainDigest = expectedDigest(1n, 1n, poolAddress, COMMITTEE.map((member) => member.address), 2);
    const report = buildReport({ configDigest: otherChainDigest, sequence: 1n, entries: [] });

    await expect(pool.settle(report, await signReport(domain, report, COMMITTEE.slice(0, 2))))
      .to.be.revertedWithCustomError(pool, "ConfigDigestMismatch")
      .withArgs(configDigest, otherChainDigest);
  });

  it("rejects a report signed in another chain's domain", async function () {
    const { pool, poolAddress } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 1n, entries: [] });
    const otherChain = protocolDomain(1n, poolAddress);
    const signatures = await signReport(otherChain, report, COMMITTEE.slice(0, 2));
    const digestHere = await pool.hashBatchReport(report);

    await expect(pool.settle(report, signatures))
      .to.be.revertedWithCustomError(pool, "UnknownSigner")
      .withArgs(recoverAddress(digestHere, signatures[0]!));
  });

  it("rejects skipped and repeated sequences", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const skipped = buildReport({ configDigest, sequence: 2n, entries: [] });

    await expect(pool.settle(skipped, await signReport(domain, skipped, COMMITTEE.slice(0, 2))))
      .to.be.revertedWithCustomError(pool, "UnexpectedBatchSequence")
      .withArgs(1n, 2n);

    const first = buildReport({ configDigest, sequence: 1n, entries: [] });
    const signatures = await signReport(domain, first, COMMITTEE.slice(0, 2));
    await pool.settle(first, signatures);
    await expect(pool.settle(first, signatures)).to.be.revertedWithCustomError(pool, "UnexpectedBatchSequence").withArgs(2n, 1n);
  });

  it("accepts only canonical signatures", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 1n, entries: [] });
    const [good, other] = await signReport(domain, report, COMMITTEE.slice(0, 2));
    const parsed = Signature.from(good!);
    const highS = SECP256K1_N - BigInt(parsed.s);
    const flippedV = parsed.v === 27 ? 28 : 27;
    const malleable = ethers.concat([parsed.r, toBeHex(highS, 32), toBeHex(flippedV, 1)]);
    const zeroBasedV = ethers.concat([parsed.r, parsed.s, toBeHex(parsed.v - 27, 1)]);
    const compact = parsed.compactSerialized;

    await expect(pool.settle(report, [malleable, other!])).to.be.revertedWithCustomError(pool, "ECDSAInvalidSignatureS").withArgs(toBeHex(highS, 32));
    await expect(pool.settle(report, [zeroBasedV, other!])).to.be.revertedWithCustomError(pool, "ECDSAInvalidSignature");
    await expect(pool.settle(report, [compact, other!])).to.be.revertedWithCustomError(pool, "ECDSAInvalidSignatureLength").withArgs(64n);
  });

  it("rejects invalid committees", async function () {
    const { pool, board, others } = await networkHelpers.loadFixture(poolWithDevices);
    const [a, b] = COMMITTEE.map((member) => member.address);

    await expect(pool.setCommittee([], 1)).to.be.revertedWithCustomError(pool, "CommitteeSizeInvalid").withArgs(0n, 255n);
    await expect(pool.setCommittee([a!, b!], 3)).to.be.revertedWithCustomError(pool, "CommitteeThresholdInvalid").withArgs(3n, 2n);
    await expect(pool.setCommittee([a!, b!], 0)).to.be.revertedWithCustomError(pool, "CommitteeThresholdInvalid").withArgs(0n, 2n);
    await expect(pool.setCommittee([a!, ethers.ZeroAddress], 1)).to.be.revertedWithCustomError(pool, "CommitteeSignerZero").withArgs(1n);
    await expect(pool.setCommittee([a!, b!, a!], 2)).to.be.revertedWithCustomError(pool, "CommitteeSignerDuplicate").withArgs(a);
    const role = await pool.DEFAULT_ADMIN_ROLE();
    await expect(pool.connect(others[0]!).setCommittee([a!], 1))
      .to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount")
      .withArgs(others[0]!.address, role);
    expect(await pool.hasRole(role, board.address)).to.equal(true);
  });

  it("stops accepting the old committee after a change", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    const replacement = new Wallet(id("replacement member"));
    await pool.setCommittee([replacement.address], 1);

    await expect(settleNext(pool, domain, [], [COMMITTEE[0]!])).to.be.revertedWithCustomError(pool, "UnknownSigner").withArgs(COMMITTEE[0]!.address);
    await expect(settleNext(pool, domain, [], [replacement])).to.emit(pool, "BatchSettled");
  });
});

describe("PayoutPool settlement", function () {
  it("rejects batches while paused", async function () {
    const { pool, domain } = await networkHelpers.loadFixture(poolWithDevices);
    await pool.pause();

    await expect(settleNext(pool, domain, [])).to.be.revertedWithCustomError(pool, "EnforcedPause");

    await pool.unpause();
    await expect(settleNext(pool, domain, [])).to.emit(pool, "BatchSettled").withArgs(1n, ethers.ZeroHash, 0n, 0n, 0n);
  });

  it("rejects an entry that ends before it starts", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);

    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start + 1n, start)]))
      .to.be.revertedWithCustomError(pool, "InvalidEntryRange")
      .withArgs(deviceIds[0], start + 1n, start);
  });

  it("rejects seconds already settled", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    await settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 99n)]);

    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start + 99n, start + 120n)]))
      .to.be.revertedWithCustomError(pool, "IntervalAlreadySettled")
      .withArgs(deviceIds[0], start + 99n, start + 99n);
    await expect(settleNext(pool, domain, [entry(deviceIds[1]!, start, start), entry(deviceIds[1]!, start, start)]))
      .to.be.revertedWithCustomError(pool, "IntervalAlreadySettled")
      .withArgs(deviceIds[1], start, start);
  });

  it("rejects seconds in the future", async function () {
    const { pool, domain, deviceIds } = await networkHelpers.loadFixture(poolWithDevices);
    const now = BigInt(await networkHelpers.time.latest());
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 1n, entries: [entry(deviceIds[0]!, now - 10n, now + 100n)] });
    const signatures = await signReport(domain, report, COMMITTEE.slice(0, 2));
    await networkHelpers.time.setNextBlockTimestamp(now + 5n);

    await expect(pool.settle(report, signatures)).to.be.revertedWithCustomError(pool, "EntryInFuture").withArgs(deviceIds[0], now + 100n, now + 5n);
  });

  it("rejects an unregistered device", async function () {
    const { pool, domain, start } = await networkHelpers.loadFixture(poolWithDevices);
    const stranger = new Wallet(id("unregistered device")).address;

    await expect(settleNext(pool, domain, [entry(stranger, start, start)]))
      .to.be.revertedWithCustomError(pool, "DeviceNotRegistered")
      .withArgs(stranger);
  });

  it("skips a revoked device and settles the rest", async function () {
    const { pool, registry, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithDevices);
    await registry.revokeDevice(deviceIds[0]!);

    const tx = settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 7_199n), entry(deviceIds[1]!, start, start + 7_199n)]);

    await expect(tx).to.emit(pool, "EntrySkipped").withArgs(1n, deviceIds[0], start, start + 7_199n, 0n);
    await expect(tx).to.emit(pool, "BatchSettled").withArgs(1n, ethers.ZeroHash, 2n, 50n * RUPEE, 50n * RUPEE);
    expect(await token.balanceOf(wallets[0]!)).to.equal(0n);
    expect(await token.balanceOf(wallets[1]!)).to.equal(50n * RUPEE);
    expect((await pool.deviceState(deviceIds[0]!)).lastSettledSecond).to.equal(0n);
  });

  it("pays the wallet current at settlement", async function () {
    const { pool, registry, domain, deviceIds, token, start } = await networkHelpers.loadFixture(poolWithDevices);
    const newWallet = new Wallet(id("new wallet")).address;
    await registry.setPayoutWallet(deviceIds[0]!, newWallet);

    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 7_199n)]))
      .to.emit(pool, "OutageSettled")
      .withArgs(deviceIds[0], newWallet, FEEDER_A, 1n, start, 0n, start, start + 7_199n, 50n * RUPEE, 50n * RUPEE, 0n);
    expect(await token.balanceOf(newWallet)).to.equal(50n * RUPEE);
  });

  it("records the attestations root in the batch event", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const root = id("attestations root");
    const report = buildReport({ configDigest, sequence: 1n, entries: [entry(deviceIds[2]!, start, start)], attestationsRoot: root });

    await expect(pool.settle(report, await signReport(domain, report, COMMITTEE.slice(1, 3))))
      .to.emit(pool, "BatchSettled")
      .withArgs(1n, root, 1n, 0n, 0n);
  });

  it("matches the digest that ethers computes", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 7n, entries: [entry(deviceIds[0]!, start, start + 5n), entry(deviceIds[1]!, start + 9n, start + 9n)] });

    expect(await pool.hashBatchReport(report)).to.equal(TypedDataEncoder.hash(toEthersDomain(domain), BATCH_REPORT_TYPES, report));
  });

  it("rejects invalid schedules", async function () {
    const { pool } = await networkHelpers.loadFixture(poolWithDevices);
    const tier = (startOffsetSeconds: bigint) => ({ startOffsetSeconds, ratePerHour: RUPEE });

    await expect(pool.setSchedule([], 300n, 0n)).to.be.revertedWithCustomError(pool, "ScheduleTierCountInvalid").withArgs(0n, 16n);
    await expect(pool.setSchedule(Array.from({ length: 17 }, (_, i) => tier(BigInt(i))), 300n, 0n))
      .to.be.revertedWithCustomError(pool, "ScheduleTierCountInvalid")
      .withArgs(17n, 16n);
    await expect(pool.setSchedule([tier(5n)], 300n, 0n)).to.be.revertedWithCustomError(pool, "ScheduleFirstTierNotAtZero").withArgs(5n);
    await expect(pool.setSchedule([tier(0n), tier(10n), tier(10n)], 300n, 0n))
      .to.be.revertedWithCustomError(pool, "ScheduleTiersNotAscending")
      .withArgs(2n, 10n, 10n);
    await expect(pool.setSchedule([tier(0n)], 0n, 0n)).to.be.revertedWithCustomError(pool, "ScheduleMergeGapZero");
  });
});
