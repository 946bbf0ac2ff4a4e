import { ZeroAddress } from "ethers";
import { amountForOffSeconds, type Schedule } from "../protocol/compensation.ts";
import type { DeviceRegistry, PayoutPool, PayoutToken } from "../types/ethers-contracts/index.ts";
import { TOKEN_SYMBOL, formatTokenFixed } from "./value-format.ts";

/** A device paying to the watched wallet, with its outage state as of one block. */
export type WatchedDevice = {
  deviceId: string;
  /** Last off-second settled (0 before the first entry). */
  lastSettledSecond: bigint;
  /** Off-seconds of the current (or last) outage settled so far. */
  offSeconds: bigint;
  /** Rate of the tier the next off-second falls in, in base units per hour. */
  ratePerHour: bigint;
  /** The schedule the outage uses. */
  schedule: Schedule;
};

/** State of a wallet and its devices at one block, before interpolation adds the time since. */
export type WalletChainState = {
  wallet: string;
  blockNumber: number;
  confirmedWei: bigint;
  devices: WatchedDevice[];
  /** False when a price feed converts amounts, because the pending part is then in rupees, not tokens. */
  canInterpolate: boolean;
};

/** One reading: the confirmed balance and what the devices' outages have earned since their last settlement. */
export type WalletReading = {
  wallet: string;
  blockNumber: number;
  atSecond: bigint;
  confirmedWei: bigint;
  pendingWei: bigint;
  devices: { deviceId: string; pendingSeconds: bigint; pendingWei: bigint; ratePerHour: bigint }[];
};

export type WatchContracts = {
  pool: PayoutPool;
  registry: DeviceRegistry;
  token: PayoutToken;
};

/**
 * Finds devices that were ever registered to `wallet` or moved to it, from the registry's
 * DeviceRegistered and PayoutWalletChanged events in [fromBlock, toBlock], read in windows of
 * `blockRange` blocks. Whether they still pay to the wallet is checked when the state is read.
 */
export async function findWalletDevices(registry: DeviceRegistry, wallet: string, fromBlock: number, toBlock: number, blockRange: number): Promise<string[]> {
  const found = new Set<string>();
  for (let start = fromBlock; start <= toBlock; start += blockRange) {
    const end = Math.min(toBlock, start + blockRange - 1);
    const registered = await registry.queryFilter(registry.filters.DeviceRegistered(undefined, wallet), start, end);
    const moved = await registry.queryFilter(registry.filters.PayoutWalletChanged(undefined, undefined, wallet), start, end);
    for (const event of [...registered, ...moved]) {
      found.add(event.args.device);
    }
  }
  return [...found];
}

const scheduleCache = new WeakMap<PayoutPool, Map<bigint, Schedule>>();

async function readSchedule(pool: PayoutPool, scheduleId: bigint): Promise<Schedule> {
  let cache = scheduleCache.get(pool);
  if (cache === undefined) {
    cache = new Map();
    scheduleCache.set(pool, cache);
  }
  const cached = cache.get(scheduleId);
  if (cached !== undefined) {
    return cached;
  }
  const [, tiers, mergeGapSeconds] = await pool.schedule(scheduleId);
  const schedule: Schedule = {
    tiers: tiers.map((tier) => ({ startOffsetSeconds: Number(tier.startOffsetSeconds), ratePerHour: tier.ratePerHour })),
    mergeGapSeconds: Number(mergeGapSeconds),
  };
  cache.set(scheduleId, schedule);
  return schedule;
}

/**
 * Reads the wallet's token balance and the outage state of each candidate device that still
 * pays to the wallet and is active, all at `blockNumber`.
 */
export async function readWalletChainState(contracts: WatchContracts, wallet: string, candidates: readonly string[], blockNumber: number): Promise<WalletChainState> {
  const blockTag = { blockTag: blockNumber };
  const confirmedWei = await contracts.token.balanceOf(wallet, blockTag);
  const [feed] = await contracts.pool.priceFeed(blockTag);
  const devices: WatchedDevice[] = [];
  for (const deviceId of candidates) {
    const info = await contracts.registry.payoutInfo(deviceId, blockTag);
    if (!info.active || info.wallet.toLowerCase() !== wallet.toLowerCase()) {
      continue;
    }
    const state = await contracts.pool.deviceState(deviceId, blockTag);
    devices.push({
      deviceId,
      lastSettledSecond: state.lastSettledSecond,
      offSeconds: state.offSeconds,
      ratePerHour: state.ratePerHour,
      schedule: await readSchedule(contracts.pool, state.scheduleId),
    });
  }
  return { wallet, blockNumber, confirmedWei, devices, canInterpolate: feed === ZeroAddress };
}

/**
 * Adds to the confirmed balance what each device's outage earns from its last settled second up
 * to `atSecond`, as if every second since were off: C(offSeconds + elapsed) - C(offSeconds) under
 * the outage's schedule. A device settled more than `maxInterpolationSeconds` ago is taken as
 * restored and adds nothing, because the oracle would have settled a continuing outage by then.
 */
export function interpolateReading(state: WalletChainState, atSecond: bigint, maxInterpolationSeconds: bigint): WalletReading {
  // NOTE: the interpolation ignores the daily cap, so on a capped day it can show more than will
  // be settled. The confirmed balance is always exact.
  const devices = state.devices.map((device) => {
    const elapsed = atSecond - device.lastSettledSecond;
    const interpolates = state.canInterpolate && device.lastSettledSecond > 0n && elapsed > 0n && elapsed <= maxInterpolationSeconds;
    const pendingSeconds = interpolates ? elapsed : 0n;
    const offSeconds = Number(device.offSeconds);
    const pendingWei = interpolates
      ? amountForOffSeconds(device.schedule, offSeconds + Number(pendingSeconds)) - amountForOffSeconds(device.schedule, offSeconds)
      : 0n;
    return { deviceId: device.deviceId, pendingSeconds, pendingWei, ratePerHour: device.ratePerHour };
  });
  return {
    wallet: state.wallet,
    blockNumber: state.blockNumber,
    atSecond,
    confirmedWei: state.confirmedWei,
    pendingWei: devices.reduce((sum, device) => sum + device.pendingWei, 0n),
    devices,
  };
}

/** Formats a reading as one line: "confirmed 1,234.567890 eINR  +0.138888 pending (interpolated)". */
export function formatReadingLine(reading: WalletReading): string {
  const confirmed = `confirmed ${formatTokenFixed(reading.confirmedWei)} ${TOKEN_SYMBOL}`;
  const interpolating = reading.devices.some((device) => device.pendingSeconds > 0n);
  return interpolating ? `${confirmed}  +${formatTokenFixed(reading.pendingWei)} pending (interpolated)` : confirmed;
}

/** Formats a reading as JSON with exact amounts in base units as decimal strings. */
export function formatReadingJson(reading: WalletReading): string {
  return `${JSON.stringify({
    wallet: reading.wallet,
    blockNumber: reading.blockNumber,
    atSecond: reading.atSecond.toString(),
    confirmedWei: reading.confirmedWei.toString(),
    pendingWei: reading.pendingWei.toString(),
    devices: reading.devices.map((device) => ({
      deviceId: device.deviceId,
      pendingSeconds: device.pendingSeconds.toString(),
      pendingWei: device.pendingWei.toString(),
      ratePerHour: device.ratePerHour.toString(),
    })),
  })}\n`;
}
