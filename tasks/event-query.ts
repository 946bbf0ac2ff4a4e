import { Interface, type EventFragment, type Log, type LogDescription, type ParamType, type Provider } from "ethers";
import { TaskUserError } from "./task-io.ts";
import { TOKEN_SYMBOL } from "./value-format.ts";

/** Kind of an event field, which decides how it is printed. */
export type FieldKind = "address" | "amount" | "feeder" | "second" | "integer" | "hex" | "boolean" | "addresses" | "tiers" | "skipReason";

/** One decoded event argument: `value` is exact (decimal wei, checksummed address, hex), `display` is for people. */
export type EventField = {
  name: string;
  kind: FieldKind;
  value: string | string[] | { startOffsetSeconds: string; ratePerHour: string }[];
  display: string;
  /** Whole tokens with every significant decimal, for amounts. */
  tokens?: string;
  /** Decoded text of a bytes32 feeder id, when it is printable. */
  text?: string;
};

/** One event log with its block time and decoded arguments. */
export type EventRow = {
  blockNumber: number;
  blockTimestamp: number;
  transactionHash: string;
  logIndex: number;
  contract: string;
  address: string;
  event: string;
  fields: EventField[];
};

/** A contract whose events are queried. */
export type QueriedContract = {
  name: string;
  address: string;
  contractInterface: Interface;
};

/** Event selection: names, the device, wallet and feeder filters, and an inclusive block range. */
export type EventFilter = {
  types: readonly string[] | undefined;
  device: string | undefined;
  wallet: string | undefined;
  feeder: string | undefined;
  fromBlock: number;
  toBlock: number;
  blockRange: number;
};

/** Event arguments that carry token amounts in base units. */
const AMOUNT_FIELDS = new Set(["amountWei", "amountOwed", "amountPaid", "amountDeferred", "remainingWei", "totalOwed", "totalPaid", "dailyCapPerDevice"]);
/** Event arguments that carry unix seconds. */
const SECOND_FIELDS = new Set(["outageStart", "fromSecond", "toSecond", "validFrom", "revokedAt", "effectiveFrom"]);
/** Fields compared with --device, --wallet and --feeder. */
export const DEVICE_FIELDS = ["device"];
export const WALLET_FIELDS = ["wallet", "previousWallet", "newWallet"];
export const FEEDER_FIELDS = ["feederId", "previousFeederId", "newFeederId"];

const SKIP_REASONS = ["DeviceRevoked"];

/** Returns the event names the contracts emit, in ABI order without repeats. */
export function knownEventNames(contracts: readonly QueriedContract[]): string[] {
  const names: string[] = [];
  for (const contract of contracts) {
    contract.contractInterface.forEachEvent((fragment: EventFragment) => {
      if (!names.includes(fragment.name)) {
        names.push(fragment.name);
      }
    });
  }
  return names;
}

/**
 * Normalises requested event names (comma lists allowed, any letter case) to the ABI's names.
 * Throws naming the unknown name and listing the valid ones.
 */
export function resolveEventTypes(requested: readonly string[], known: readonly string[]): string[] | undefined {
  const names = requested.flatMap((entry) => entry.split(",")).map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) {
    return undefined;
  }
  return names.map((name) => {
    const match = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (match === undefined) {
      throw new TaskUserError(`--type ${JSON.stringify(name)} is not an event of the pool or the registry: use one of ${known.join(", ")}`);
    }
    return match;
  });
}

function describeField(param: ParamType, raw: unknown, formatAmount: (wei: bigint) => string, decodeFeeder: (hex: string) => string | undefined, formatSecond: (second: bigint) => string): EventField {
  const name = param.name;
  if (param.baseType === "array" && param.arrayChildren?.baseType === "tuple" && Array.isArray(raw)) {
    const tiers = raw.map((tier: unknown) => {
      const [offset, rate] = Array.isArray(tier) ? tier : [];
      return { startOffsetSeconds: String(offset), ratePerHour: String(rate) };
    });
    const display = tiers.map((tier) => `${tier.startOffsetSeconds}s:${formatAmount(BigInt(tier.ratePerHour))} ${TOKEN_SYMBOL}/h`).join(",");
    return { name, kind: "tiers", value: tiers, display };
  }
  if (param.baseType === "array" && Array.isArray(raw)) {
    const values = raw.map(String);
    return { name, kind: "addresses", value: values, display: values.join(",") };
  }
  if (param.type === "address") {
    return { name, kind: "address", value: String(raw), display: String(raw) };
  }
  if (param.type === "bool") {
    return { name, kind: "boolean", value: String(raw), display: String(raw) };
  }
  if (param.type === "bytes32" && FEEDER_FIELDS.includes(name)) {
    const hex = String(raw);
    const text = decodeFeeder(hex);
    return text === undefined ? { name, kind: "feeder", value: hex, display: hex } : { name, kind: "feeder", value: hex, display: `${hex} ("${text}")`, text };
  }
  if (typeof raw === "bigint") {
    const value = raw.toString();
    if (AMOUNT_FIELDS.has(name)) {
      const tokens = formatAmount(raw);
      return { name, kind: "amount", value, display: `${tokens} ${TOKEN_SYMBOL} (${value} wei)`, tokens };
    }
    if (SECOND_FIELDS.has(name)) {
      return { name, kind: "second", value, display: `${value} (${formatSecond(raw)})` };
    }
    if (name === "reason") {
      const reason = SKIP_REASONS[Number(raw)];
      return { name, kind: "skipReason", value, display: reason === undefined ? value : `${value} (${reason})` };
    }
    return { name, kind: "integer", value, display: value };
  }
  return { name, kind: "hex", value: String(raw), display: String(raw) };
}

/** Formatters the query uses for display strings. */
export type FieldFormatters = {
  formatAmount: (wei: bigint) => string;
  decodeFeeder: (hex: string) => string | undefined;
  formatSecond: (second: bigint) => string;
};

function describeLog(contract: QueriedContract, log: Log, parsed: LogDescription, blockTimestamp: number, formatters: FieldFormatters): EventRow {
  const fields = parsed.fragment.inputs.map((param, index) =>
    describeField(param, parsed.args[index], formatters.formatAmount, formatters.decodeFeeder, formatters.formatSecond),
  );
  return {
    blockNumber: log.blockNumber,
    blockTimestamp,
    transactionHash: log.transactionHash,
    logIndex: log.index,
    contract: contract.name,
    address: contract.address,
    event: parsed.name,
    fields,
  };
}

function matchesAny(row: EventRow, names: readonly string[], expected: string | undefined): boolean {
  if (expected === undefined) {
    return true;
  }
  return row.fields.some((field) => names.includes(field.name) && typeof field.value === "string" && field.value.toLowerCase() === expected.toLowerCase());
}

/** Reports whether a row passes the --device, --wallet and --feeder filters. */
export function matchesFilter(row: EventRow, filter: Pick<EventFilter, "device" | "wallet" | "feeder">): boolean {
  return matchesAny(row, DEVICE_FIELDS, filter.device) && matchesAny(row, WALLET_FIELDS, filter.wallet) && matchesAny(row, FEEDER_FIELDS, filter.feeder);
}

/**
 * Reads the contracts' events with eth_getLogs in windows of at most `blockRange` blocks,
 * decodes them and keeps those that pass the filter, in chain order.
 */
export async function queryEvents(provider: Provider, contracts: readonly QueriedContract[], filter: EventFilter, formatters: FieldFormatters): Promise<EventRow[]> {
  const byAddress = new Map(contracts.map((contract) => [contract.address.toLowerCase(), contract]));
  const topics = filter.types === undefined
    ? undefined
    : [[...new Set(contracts.flatMap((contract) => filter.types?.flatMap((type) => {
        const fragment = contract.contractInterface.getEvent(type);
        return fragment === null ? [] : [fragment.topicHash];
      }) ?? []))]];
  if (topics !== undefined && topics[0]?.length === 0) {
    return [];
  }
  const blockTimes = new Map<number, number>();
  const rows: EventRow[] = [];
  for (let start = filter.fromBlock; start <= filter.toBlock; start += filter.blockRange) {
    const end = Math.min(filter.toBlock, start + filter.blockRange - 1);
    const logs = await provider.getLogs({ address: contracts.map((contract) => contract.address), topics, fromBlock: start, toBlock: end });
    for (const log of logs) {
      const contract = byAddress.get(log.address.toLowerCase());
      const parsed = contract?.contractInterface.parseLog({ topics: [...log.topics], data: log.data });
      if (contract === undefined || parsed === null || parsed === undefined) {
        continue;
      }
      let timestamp = blockTimes.get(log.blockNumber);
      if (timestamp === undefined) {
        const block = await provider.getBlock(log.blockNumber);
        if (block === null) {
          throw new TaskUserError(`block ${log.blockNumber} of a log is not available from the node: retry once the node has synced`);
        }
        timestamp = block.timestamp;
        blockTimes.set(log.blockNumber, timestamp);
      }
      const row = describeLog(contract, log, parsed, timestamp, formatters);
      if (matchesFilter(row, filter)) {
        rows.push(row);
      }
    }
  }
  rows.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  return rows;
}

/**
 * Finds the first block whose timestamp is at or after `second` (`edge` "first") or the last
 * block whose timestamp is at or before it (`edge` "last"), by binary search over [0, latest].
 * Returns undefined when no block qualifies.
 */
export async function blockAtTime(provider: Provider, second: bigint, edge: "first" | "last", latestBlock: number): Promise<number | undefined> {
  const timestampOf = async (blockNumber: number): Promise<bigint> => {
    const block = await provider.getBlock(blockNumber);
    if (block === null) {
      throw new TaskUserError(`block ${blockNumber} is not available from the node, so times cannot be resolved to blocks: pass --from-block and --to-block`);
    }
    return BigInt(block.timestamp);
  };
  let low = 0;
  let high = latestBlock;
  if (edge === "first") {
    if ((await timestampOf(latestBlock)) < second) {
      return undefined;
    }
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((await timestampOf(middle)) >= second) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    return low;
  }
  if ((await timestampOf(0)) > second) {
    return undefined;
  }
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((await timestampOf(middle)) <= second) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}
