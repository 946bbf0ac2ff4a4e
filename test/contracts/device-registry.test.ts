import { expect } from "chai";
import { network } from "hardhat";
import { Wallet, id } from "ethers";
import { PAYOUT_WALLET_CHANGE_TYPES, protocolDomain, toEthersDomain } from "../../protocol/eip712.ts";
import { FEEDER_A, FEEDER_B, deviceKey } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

const STATUS_ACTIVE = 1n;
const STATUS_REVOKED = 2n;
const OPEN_ENDED = 2n ** 64n - 1n;

async function registryWithDevice() {
  const [board, stranger] = await ethers.getSigners();
  const registry = await ethers.deployContract("DeviceRegistry", [board!.address]);
  const device = deviceKey(1);
  const consumer = new Wallet(id("consumer wallet"), ethers.provider);
  await registry.registerDevice(device.address, device.address, consumer.address, FEEDER_A);
  const registeredAt = BigInt(await networkHelpers.time.latest());
  const { chainId } = await ethers.provider.getNetwork();
  const domain = protocolDomain(chainId, await registry.getAddress());
  return { registry, board: board!, stranger: stranger!, device, consumer, registeredAt, domain };
}

describe("DeviceRegistry", function () {
  it("registers a device with its first key", async function () {
    const { registry, device, consumer, registeredAt } = await networkHelpers.loadFixture(registryWithDevice);

    const state = await registry.getDevice(device.address);

    expect(state.status).to.equal(STATUS_ACTIVE);
    expect(state.wallet).to.equal(consumer.address);
    expect(state.feederId).to.equal(FEEDER_A);
    expect(state.currentKey).to.equal(device.address);
    expect(state.registeredAt).to.equal(registeredAt);
    expect(state.revokedAt).to.equal(0n);
    expect(state.keyCount).to.equal(1n);
    expect(await registry.keyAt(device.address, 0n)).to.deep.equal([device.address, registeredAt, OPEN_ENDED]);
    expect(await registry.payoutInfo(device.address)).to.deep.equal([consumer.address, FEEDER_A, true]);
  });

  it("emits DeviceRegistered", async function () {
    const { registry } = await networkHelpers.loadFixture(registryWithDevice);
    const other = deviceKey(2);
    const wallet = Wallet.createRandom().address;
    const tx = registry.registerDevice(other.address, other.address, wallet, FEEDER_B);

    await expect(tx)
      .to.emit(registry, "DeviceRegistered")
      .withArgs(other.address, wallet, FEEDER_B, other.address, BigInt(await networkHelpers.time.latest()) + 1n);
  });

  it("rejects zero addresses and double registration", async function () {
    const { registry, device, consumer, stranger } = await networkHelpers.loadFixture(registryWithDevice);
    const other = deviceKey(3).address;

    await expect(registry.registerDevice(ethers.ZeroAddress, other, consumer.address, FEEDER_A)).to.be.revertedWithCustomError(registry, "DeviceIdZero");
    await expect(registry.registerDevice(other, ethers.ZeroAddress, consumer.address, FEEDER_A))
      .to.be.revertedWithCustomError(registry, "DeviceKeyZero")
      .withArgs(other);
    await expect(registry.registerDevice(other, other, ethers.ZeroAddress, FEEDER_A))
      .to.be.revertedWithCustomError(registry, "DeviceWalletZero")
      .withArgs(other);
    await expect(registry.registerDevice(device.address, device.address, consumer.address, FEEDER_A))
      .to.be.revertedWithCustomError(registry, "DeviceAlreadyRegistered")
      .withArgs(device.address, STATUS_ACTIVE);
    await registry.revokeDevice(device.address);
    await expect(registry.registerDevice(device.address, device.address, consumer.address, FEEDER_A))
      .to.be.revertedWithCustomError(registry, "DeviceAlreadyRegistered")
      .withArgs(device.address, STATUS_REVOKED);
    await expect(registry.connect(stranger).registerDevice(other, other, consumer.address, FEEDER_A))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(stranger.address, ethers.ZeroHash);
  });

  it("rejects unknown devices", async function () {
    const { registry } = await networkHelpers.loadFixture(registryWithDevice);
    const unknown = deviceKey(9).address;

    await expect(registry.revokeDevice(unknown)).to.be.revertedWithCustomError(registry, "DeviceNotRegistered").withArgs(unknown);
    await expect(registry.moveDevice(unknown, FEEDER_B)).to.be.revertedWithCustomError(registry, "DeviceNotRegistered").withArgs(unknown);
    await expect(registry.rotateKey(unknown, unknown, 1n)).to.be.revertedWithCustomError(registry, "DeviceNotRegistered").withArgs(unknown);
    await expect(registry.setPayoutWallet(unknown, unknown)).to.be.revertedWithCustomError(registry, "DeviceNotRegistered").withArgs(unknown);
    await expect(registry.keyAt(unknown, 0n)).to.be.revertedWithCustomError(registry, "DeviceKeyIndexOutOfRange").withArgs(unknown, 0n, 0n);
    expect(await registry.payoutInfo(unknown)).to.deep.equal([ethers.ZeroAddress, ethers.ZeroHash, false]);
  });

  it("revokes a device and keeps its history", async function () {
    const { registry, device, consumer } = await networkHelpers.loadFixture(registryWithDevice);

    await expect(registry.revokeDevice(device.address)).to.emit(registry, "DeviceRevoked");
    const revokedAt = BigInt(await networkHelpers.time.latest());

    const state = await registry.getDevice(device.address);
    expect(state.status).to.equal(STATUS_REVOKED);
    expect(state.revokedAt).to.equal(revokedAt);
    expect(await registry.payoutInfo(device.address)).to.deep.equal([consumer.address, FEEDER_A, false]);
    await expect(registry.revokeDevice(device.address))
      .to.be.revertedWithCustomError(registry, "DeviceAlreadyRevoked")
      .withArgs(device.address, revokedAt);
    await expect(registry.moveDevice(device.address, FEEDER_B))
      .to.be.revertedWithCustomError(registry, "DeviceAlreadyRevoked")
      .withArgs(device.address, revokedAt);
  });

  it("rotates a key over half-open ranges", async function () {
    const { registry, device, registeredAt } = await networkHelpers.loadFixture(registryWithDevice);
    const newKey = deviceKey(11).address;
    const validFrom = registeredAt + 1_000n;

    await expect(registry.rotateKey(device.address, newKey, validFrom))
      .to.emit(registry, "DeviceKeyRotated")
      .withArgs(device.address, device.address, newKey, validFrom);

    expect(await registry.keyAt(device.address, 0n)).to.deep.equal([device.address, registeredAt, validFrom]);
    expect(await registry.keyAt(device.address, 1n)).to.deep.equal([newKey, validFrom, OPEN_ENDED]);
    expect(await registry.keyValidAt(device.address, validFrom - 1n)).to.equal(device.address);
    expect(await registry.keyValidAt(device.address, validFrom)).to.equal(newKey);
    expect(await registry.keyValidAt(device.address, registeredAt - 1n)).to.equal(ethers.ZeroAddress);
    expect((await registry.getDevice(device.address)).keyCount).to.equal(2n);
  });

  it("rejects invalid rotations", async function () {
    const { registry, device, registeredAt } = await networkHelpers.loadFixture(registryWithDevice);
    const newKey = deviceKey(12).address;
    const now = BigInt(await networkHelpers.time.latest());

    await expect(registry.rotateKey(device.address, ethers.ZeroAddress, now + 10n))
      .to.be.revertedWithCustomError(registry, "DeviceKeyZero")
      .withArgs(device.address);
    await expect(registry.rotateKey(device.address, device.address, now + 10n))
      .to.be.revertedWithCustomError(registry, "DeviceKeyUnchanged")
      .withArgs(device.address, device.address);
    // The transaction's block is one second after `now`, which is the earliest allowed validFrom.
    await expect(registry.rotateKey(device.address, newKey, registeredAt))
      .to.be.revertedWithCustomError(registry, "DeviceKeyValidFromTooEarly")
      .withArgs(device.address, registeredAt, now + 1n);
  });

  it("moves a device to another feeder", async function () {
    const { registry, device } = await networkHelpers.loadFixture(registryWithDevice);

    await expect(registry.moveDevice(device.address, FEEDER_B)).to.emit(registry, "DeviceMoved").withArgs(device.address, FEEDER_A, FEEDER_B);
    await expect(registry.moveDevice(device.address, FEEDER_B))
      .to.be.revertedWithCustomError(registry, "DeviceFeederUnchanged")
      .withArgs(device.address, FEEDER_B);
    expect((await registry.getDevice(device.address)).feederId).to.equal(FEEDER_B);
  });

  it("lets the board change the payout wallet", async function () {
    const { registry, device, consumer } = await networkHelpers.loadFixture(registryWithDevice);
    const newWallet = Wallet.createRandom().address;

    await expect(registry.setPayoutWallet(device.address, newWallet))
      .to.emit(registry, "PayoutWalletChanged")
      .withArgs(device.address, consumer.address, newWallet);
    await expect(registry.setPayoutWallet(device.address, newWallet))
      .to.be.revertedWithCustomError(registry, "PayoutWalletUnchanged")
      .withArgs(device.address, newWallet);
    await expect(registry.setPayoutWallet(device.address, ethers.ZeroAddress))
      .to.be.revertedWithCustomError(registry, "DeviceWalletZero")
      .withArgs(device.address);
    expect(await registry.payoutWalletNonce(device.address)).to.equal(1n);
  });

  it("lets the consumer change the wallet by signature once", async function () {
    const { registry, device, consumer, stranger, domain } = await networkHelpers.loadFixture(registryWithDevice);
    const newWallet = Wallet.createRandom().address;
    const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
    const message = { deviceId: device.address, newWallet, nonce: 0n, deadline };
    const signature = await consumer.signTypedData(toEthersDomain(domain), PAYOUT_WALLET_CHANGE_TYPES, message);

    await expect(registry.connect(stranger).setPayoutWalletWithSig(device.address, newWallet, deadline, signature))
      .to.emit(registry, "PayoutWalletChanged")
      .withArgs(device.address, consumer.address, newWallet);

    // The replay is checked against the new wallet and nonce 1, and fails.
    await registry.setPayoutWallet(device.address, consumer.address);
    await expect(registry.setPayoutWalletWithSig(device.address, newWallet, deadline, signature))
      .to.be.revertedWithCustomError(registry, "PayoutWalletSignatureInvalid")
      .withArgs(device.address, consumer.address, 2n);
  });

  it("rejects an expired or foreign wallet change signature", async function () {
    const { registry, device, consumer, domain } = await networkHelpers.loadFixture(registryWithDevice);
    const newWallet = Wallet.createRandom().address;
    const now = BigInt(await networkHelpers.time.latest());
    const expired = { deviceId: device.address, newWallet, nonce: 0n, deadline: now };
    const expiredSignature = await consumer.signTypedData(toEthersDomain(domain), PAYOUT_WALLET_CHANGE_TYPES, expired);

    await networkHelpers.time.setNextBlockTimestamp(now + 1n);
    await expect(registry.setPayoutWalletWithSig(device.address, newWallet, now, expiredSignature))
      .to.be.revertedWithCustomError(registry, "PayoutWalletSignatureExpired")
      .withArgs(now, now + 1n);

    const deadline = now + 600n;
    const intruder = Wallet.createRandom();
    const foreign = await intruder.signTypedData(toEthersDomain(domain), PAYOUT_WALLET_CHANGE_TYPES, {
      deviceId: device.address,
      newWallet,
      nonce: 0n,
      deadline,
    });
    await expect(registry.setPayoutWalletWithSig(device.address, newWallet, deadline, foreign))
      .to.be.revertedWithCustomError(registry, "PayoutWalletSignatureInvalid")
      .withArgs(device.address, consumer.address, 0n);
  });
});
