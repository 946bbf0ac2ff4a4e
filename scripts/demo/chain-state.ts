import { Contract, type JsonRpcProvider } from "ethers";
import { loadAbi } from "../../protocol/artifacts.ts";
import type { DeploymentAddresses } from "../../protocol/deployment.ts";

/** The pool's totals and runway, in token base units and seconds. */
export type PoolTotals = {
  balanceWei: bigint;
  totalFundedWei: bigint;
  totalPaidWei: bigint;
  totalDebtWei: bigint;
  availableWei: bigint;
  owedPerHourWei: bigint;
  /** Seconds the available funds last at the estimated rate; null when the rate is 0. */
  runwaySeconds: bigint | null;
  lastBatchSequence: number;
};

/** One device's wallet balance and the pool's state of its current outage. */
export type DeviceChainState = {
  balanceWei: bigint;
  lastSettledSecond: number;
  offSecondsSettled: number;
  owedInOutageWei: bigint;
};

export type ChainSnapshot = { blockTimestamp: number; pool: PoolTotals; devices: DeviceChainState[] };

/** Per device, what the pool's OutageSettled events add up to. */
export type SettledTotals = { offSeconds: number; owedWei: bigint; paidWei: bigint; deferredWei: bigint };

export type SettlementHistory = {
  perDevice: Map<string, SettledTotals>;
  batches: number;
  /** Gas used by the settle transactions. */
  gasUsed: bigint;
  entries: number;
};

const MAX_UINT256 = (1n << 256n) - 1n;

function bigintOf(value: unknown, method: string): bigint {
  if (typeof value !== "bigint") {
    throw new Error(`${method} returned ${typeof value}, not an integer`);
  }
  return value;
}

function tupleOf(value: unknown, method: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new Error(`${method} returned no tuple`);
  }
  return value;
}

/** Read access to the deployed token and pool for the view and the summary. */
export class ChainReader {
  readonly token: Contract;
  readonly pool: Contract;
  readonly registry: Contract;
  readonly #provider: JsonRpcProvider;

  constructor(provider: JsonRpcProvider, addresses: DeploymentAddresses) {
    this.#provider = provider;
    this.token = new Contract(addresses.token, loadAbi("PayoutToken"), provider);
    this.pool = new Contract(addresses.pool, loadAbi("PayoutPool"), provider);
    this.registry = new Contract(addresses.registry, loadAbi("DeviceRegistry"), provider);
  }

  async balanceOf(wallet: string): Promise<bigint> {
    return bigintOf(await this.token.getFunction("balanceOf").staticCall(wallet), "balanceOf");
  }

  async poolTotals(): Promise<PoolTotals> {
    const pool = this.pool;
    const [balanceWei, totalFundedWei, totalPaidWei, totalDebtWei, runway, lastBatchSequence] = await Promise.all([
      pool.getFunction("balance").staticCall(),
      pool.getFunction("totalFunded").staticCall(),
      pool.getFunction("totalPaid").staticCall(),
      pool.getFunction("totalDebt").staticCall(),
      pool.getFunction("runway").staticCall(),
      pool.getFunction("lastBatchSequence").staticCall(),
    ]);
    const [availableWei, owedPerHourWei, runwaySeconds] = tupleOf(runway, "runway");
    const runwaySecondsValue = bigintOf(runwaySeconds, "runway");
    return {
      balanceWei: bigintOf(balanceWei, "balance"),
      totalFundedWei: bigintOf(totalFundedWei, "totalFunded"),
      totalPaidWei: bigintOf(totalPaidWei, "totalPaid"),
      totalDebtWei: bigintOf(totalDebtWei, "totalDebt"),
      availableWei: bigintOf(availableWei, "runway"),
      owedPerHourWei: bigintOf(owedPerHourWei, "runway"),
      runwaySeconds: runwaySecondsValue === MAX_UINT256 ? null : runwaySecondsValue,
      lastBatchSequence: Number(bigintOf(lastBatchSequence, "lastBatchSequence")),
    };
  }

  async deviceState(deviceId: string, wallet: string): Promise<DeviceChainState> {
    const [state, balanceWei] = await Promise.all([this.pool.getFunction("deviceState").staticCall(deviceId), this.balanceOf(wallet)]);
    const [lastSettledSecond, , offSeconds, owedInOutage] = tupleOf(state, "deviceState");
    return {
      balanceWei,
      lastSettledSecond: Number(bigintOf(lastSettledSecond, "deviceState")),
      offSecondsSettled: Number(bigintOf(offSeconds, "deviceState")),
      owedInOutageWei: bigintOf(owedInOutage, "deviceState"),
    };
  }

  async snapshot(devices: readonly { deviceId: string; wallet: string }[]): Promise<ChainSnapshot> {
    const [block, pool, states] = await Promise.all([
      this.#provider.getBlock("latest"),
      this.poolTotals(),
      Promise.all(devices.map((device) => this.deviceState(device.deviceId, device.wallet))),
    ]);
    return { blockTimestamp: block?.timestamp ?? 0, pool, devices: states };
  }

  /** Adds up the pool's OutageSettled and BatchSettled events from `fromBlock` on, with the gas of their transactions. */
  async settlementHistory(fromBlock: number): Promise<SettlementHistory> {
    const settled = await this.pool.queryFilter(this.pool.filters.OutageSettled!(), fromBlock);
    const batches = await this.pool.queryFilter(this.pool.filters.BatchSettled!(), fromBlock);
    const perDevice = new Map<string, SettledTotals>();
    for (const log of settled) {
      if (!("args" in log)) {
        continue;
      }
      const device = String(log.args.getValue("device"));
      const totals = perDevice.get(device) ?? { offSeconds: 0, owedWei: 0n, paidWei: 0n, deferredWei: 0n };
      totals.offSeconds += Number(bigintOf(log.args.getValue("toSecond"), "toSecond") - bigintOf(log.args.getValue("fromSecond"), "fromSecond") + 1n);
      totals.owedWei += bigintOf(log.args.getValue("amountOwed"), "amountOwed");
      totals.paidWei += bigintOf(log.args.getValue("amountPaid"), "amountPaid");
      totals.deferredWei += bigintOf(log.args.getValue("amountDeferred"), "amountDeferred");
      perDevice.set(device, totals);
    }
    let gasUsed = 0n;
    for (const hash of new Set(batches.map((log) => log.transactionHash))) {
      const receipt = await this.#provider.getTransactionReceipt(hash);
      gasUsed += receipt?.gasUsed ?? 0n;
    }
    return { perDevice, batches: batches.length, gasUsed, entries: settled.length };
  }
}
