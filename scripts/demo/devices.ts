import path from "node:path";
import { Contract, Wallet, id, type Signer } from "ethers";
import { createKeyFile } from "../../device-agent/keystore.ts";
import type { OutageInterval } from "../../device-agent/sources/power-source.ts";
import type { DevicePlan } from "./plan.ts";

/** A device of the run: its plan, its key file and identity, its wallet and its outages on the simulated clock. */
export type DemoDevice = DevicePlan & {
  deviceId: string;
  wallet: string;
  feederId: string;
  dataDir: string;
  keystore: string;
  /** The outages as replayed, in simulated unix seconds; empty until the timeline is set. */
  simOutages: OutageInterval[];
};

/**
 * Creates a key file for each device with the light scrypt cost (throwaway demo keys) and a
 * fresh payout wallet address, in `<runDir>/devices/<label>/`.
 */
export async function createDeviceKeys(runDir: string, plans: readonly DevicePlan[], password: string, nowSecond: number): Promise<DemoDevice[]> {
  return Promise.all(
    plans.map(async (plan) => {
      const dataDir = path.join(runDir, "devices", plan.label);
      const keystore = path.join(dataDir, "keystore.json");
      const keyFile = await createKeyFile(keystore, password, "light", nowSecond);
      return {
        ...plan,
        deviceId: keyFile.deviceId,
        wallet: Wallet.createRandom().address,
        feederId: id(plan.feederName),
        dataDir,
        keystore,
        simOutages: [],
      };
    }),
  );
}

/**
 * Registers every device as the board, bound to its wallet and feeder, one transaction at a
 * time so the board's nonces stay in order. Returns the highest block timestamp of the
 * registrations: each device's key is valid from its registration block on.
 */
export async function registerDevices(registry: Contract, board: Signer, devices: readonly DemoDevice[]): Promise<number> {
  let latestTimestamp = 0;
  const connected = registry.connect(board);
  for (const device of devices) {
    const tx = await connected.getFunction("registerDevice")(device.deviceId, device.deviceId, device.wallet, device.feederId);
    const receipt = await tx.wait();
    if (receipt === null) {
      throw new Error(`registerDevice for ${device.label} has no receipt`);
    }
    const block = await board.provider?.getBlock(receipt.blockNumber);
    latestTimestamp = Math.max(latestTimestamp, block?.timestamp ?? 0);
  }
  return latestTimestamp;
}
