import { expect } from "chai";
import { network } from "hardhat";
import { TypedDataEncoder, Wallet, id } from "ethers";
import {
  ATTESTATION_TYPES,
  BATCH_REPORT_TYPES,
  HELLO_TYPES,
  PAYOUT_WALLET_CHANGE_TYPES,
  RESTORATION_TYPES,
} from "../../protocol/eip712.ts";

const { ethers } = await network.create();

describe("ProtocolTypedData", function () {
  const deviceId = new Wallet(id("typed data device")).address;
  const maxUint64 = 2n ** 64n - 1n;

  it("hashes every message type as ethers does", async function () {
    const harness = await ethers.deployContract("ProtocolTypedDataHarness");
    const attestation = { deviceId, second: 1_733_000_000n, seq: maxUint64 };
    const restoration = { deviceId, second: maxUint64, seq: 1n };
    const hello = { deviceId, challenge: id("challenge") };
    const walletChange = { deviceId, newWallet: new Wallet(id("new wallet")).address, nonce: 3n, deadline: 2n ** 255n };
    const entries = [
      { deviceId, fromSecond: 10n, toSecond: 20n },
      { deviceId: walletChange.newWallet, fromSecond: maxUint64, toSecond: maxUint64 },
    ];
    const report = { configDigest: id("digest"), sequence: 42n, attestationsRoot: id("root"), entries };
    const emptyReport = { ...report, entries: [] };

    expect(await harness.hashAttestation(deviceId, attestation.second, attestation.seq)).to.equal(
      TypedDataEncoder.hashStruct("Attestation", ATTESTATION_TYPES, attestation),
    );
    expect(await harness.hashRestoration(deviceId, restoration.second, restoration.seq)).to.equal(
      TypedDataEncoder.hashStruct("Restoration", RESTORATION_TYPES, restoration),
    );
    expect(await harness.hashHello(deviceId, hello.challenge)).to.equal(TypedDataEncoder.hashStruct("Hello", HELLO_TYPES, hello));
    expect(await harness.hashPayoutWalletChange(deviceId, walletChange.newWallet, walletChange.nonce, walletChange.deadline)).to.equal(
      TypedDataEncoder.hashStruct("PayoutWalletChange", PAYOUT_WALLET_CHANGE_TYPES, walletChange),
    );
    expect(await harness.hashEntry(entries[1]!)).to.equal(TypedDataEncoder.hashStruct("Entry", BATCH_REPORT_TYPES, entries[1]!));
    expect(await harness.hashBatchReport(report)).to.equal(TypedDataEncoder.hashStruct("BatchReport", BATCH_REPORT_TYPES, report));
    expect(await harness.hashBatchReport(emptyReport)).to.equal(TypedDataEncoder.hashStruct("BatchReport", BATCH_REPORT_TYPES, emptyReport));
  });
});
