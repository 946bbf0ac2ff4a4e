import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { openBoardChain } from "./chain-context.ts";
import { sendBoardTransaction } from "./board-transaction.ts";
import type { BoardTaskArguments } from "./pool-admin-actions.ts";
import { TaskUserError, runTaskBody, type TaskOutcome } from "./task-io.ts";
import { isGiven, parseAddress, parseFeederId, parseUnixTime } from "./task-input.ts";
import { formatFeederId, formatUnixSecond } from "./value-format.ts";

export type RegisterArguments = BoardTaskArguments & {
  device: string | undefined;
  key: string | undefined;
  wallet: string | undefined;
  feeder: string | undefined;
};
export type RevokeArguments = BoardTaskArguments & { device: string | undefined };
export type RotateKeyArguments = BoardTaskArguments & { device: string | undefined; newKey: string | undefined; validFrom: string | undefined };
export type MoveArguments = BoardTaskArguments & { device: string | undefined; feeder: string | undefined };
export type SetWalletArguments = BoardTaskArguments & { device: string | undefined; wallet: string | undefined };

const MAX_UINT64 = 2n ** 64n - 1n;

/** Fixes for the registry's errors about a device's life cycle. */
const DEVICE_FIXES: Readonly<Record<string, string>> = {
  DeviceAlreadyRegistered: "a device id is registered once for life; give the new device its own key",
  DeviceNotRegistered: "check the id, or register the device with `npx hardhat device register`",
  DeviceAlreadyRevoked: "a revoked device cannot change; register a new device",
  DeviceKeyUnchanged: "pass a key the device does not already have",
  DeviceKeyValidFromTooEarly: "pass a --valid-from at or after earliestValidFrom",
  DeviceFeederUnchanged: "the device is already on that feeder",
  PayoutWalletUnchanged: "the device already pays to that wallet",
};

/** Registers a device with its first key, payout wallet and feeder. */
export async function registerAction(args: RegisterArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const device = parseAddress("device", args.device);
    const key = isGiven(args.key) ? parseAddress("key", args.key) : device;
    const wallet = parseAddress("wallet", args.wallet);
    const feederId = parseFeederId("feeder", args.feeder);
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "register device", () => chain.registry.registerDevice(device, key, wallet, feederId), DEVICE_FIXES);
    const registered = await chain.registry.getDevice(device);
    io.out.write(`registered ${device} with key ${key}, paying to ${wallet}, on feeder ${formatFeederId(feederId)}, from ${formatUnixSecond(registered.registeredAt)}\n`);
  });
}

/** Revokes a device: the pool skips its entries from then on. */
export async function revokeAction(args: RevokeArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const device = parseAddress("device", args.device);
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "revoke device", () => chain.registry.revokeDevice(device), DEVICE_FIXES);
    const revoked = await chain.registry.getDevice(device);
    io.out.write(`revoked ${device} at ${revoked.revokedAt} (${formatUnixSecond(revoked.revokedAt)})\n`);
  });
}

/** Gives a device a new key valid from --valid-from on. */
export async function rotateKeyAction(args: RotateKeyArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const device = parseAddress("device", args.device);
    const newKey = parseAddress("new-key", args.newKey);
    const validFrom = parseUnixTime("valid-from", args.validFrom);
    if (validFrom > MAX_UINT64) {
      throw new TaskUserError(`--valid-from ${validFrom} does not fit in uint64: pass a unix second such as 1767225600`);
    }
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "rotate key", () => chain.registry.rotateKey(device, newKey, validFrom), DEVICE_FIXES);
    io.out.write(`${device} signs with ${newKey} from ${validFrom} (${formatUnixSecond(validFrom)}) on\n`);
  });
}

/** Moves a device to another feeder. */
export async function moveAction(args: MoveArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const device = parseAddress("device", args.device);
    const feederId = parseFeederId("feeder", args.feeder);
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "move device", () => chain.registry.moveDevice(device, feederId), DEVICE_FIXES);
    io.out.write(`${device} is on feeder ${formatFeederId(feederId)}\n`);
  });
}

/** Sends a device's future payouts and open debts to another wallet. */
export async function setWalletAction(args: SetWalletArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const device = parseAddress("device", args.device);
    const wallet = parseAddress("wallet", args.wallet);
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "set payout wallet", () => chain.registry.setPayoutWallet(device, wallet), DEVICE_FIXES);
    io.out.write(`${device} pays to ${wallet}\n`);
  });
}
