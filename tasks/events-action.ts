import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { openChain } from "./chain-context.ts";
import { blockAtTime, knownEventNames, queryEvents, resolveEventTypes, type QueriedContract } from "./event-query.ts";
import { renderCsv, renderJson, renderTable } from "./event-rendering.ts";
import { TaskUserError, runTaskBody, type TaskOutcome } from "./task-io.ts";
import { isGiven, parseFeederId, parseOptionalAddress, parseUnixTime, parseUnsignedInteger } from "./task-input.ts";
import { decodeFeederText, formatTokenExact, formatUnixSecond } from "./value-format.ts";

export type EventsTaskArguments = {
  type: string | undefined;
  device: string | undefined;
  wallet: string | undefined;
  feeder: string | undefined;
  fromBlock: string | undefined;
  toBlock: string | undefined;
  since: string | undefined;
  until: string | undefined;
  blockRange: number;
  json: boolean;
  csv: boolean;
  rpcUrl: string | undefined;
  deploymentId: string | undefined;
  pool: string | undefined;
};

const MAX_BLOCK = BigInt(Number.MAX_SAFE_INTEGER);

async function resolveBlocks(
  provider: Awaited<ReturnType<typeof openChain>>["provider"],
  args: EventsTaskArguments,
): Promise<{ fromBlock: number; toBlock: number } | undefined> {
  const latest = await provider.getBlockNumber();
  const hasBlocks = isGiven(args.fromBlock) || isGiven(args.toBlock);
  const hasTimes = isGiven(args.since) || isGiven(args.until);
  if (hasBlocks && hasTimes) {
    throw new TaskUserError("--from-block/--to-block and --since/--until both select a range: pass blocks or times, not both");
  }
  let fromBlock = isGiven(args.fromBlock) ? Number(parseUnsignedInteger("from-block", args.fromBlock, MAX_BLOCK)) : 0;
  let toBlock = isGiven(args.toBlock) ? Number(parseUnsignedInteger("to-block", args.toBlock, MAX_BLOCK)) : latest;
  if (isGiven(args.since)) {
    const since = parseUnixTime("since", args.since);
    const block = await blockAtTime(provider, since, "first", latest);
    if (block === undefined) {
      return undefined;
    }
    fromBlock = block;
  }
  if (isGiven(args.until)) {
    const until = parseUnixTime("until", args.until);
    const block = await blockAtTime(provider, until, "last", latest);
    if (block === undefined) {
      return undefined;
    }
    toBlock = block;
  }
  if (fromBlock > toBlock && hasBlocks) {
    throw new TaskUserError(`--from-block ${fromBlock} is after --to-block ${toBlock}: swap them or widen the range`);
  }
  if (toBlock > latest) {
    throw new TaskUserError(`--to-block ${toBlock} is after the latest block ${latest}: pass ${latest} or less, or leave it out`);
  }
  return fromBlock > toBlock ? undefined : { fromBlock, toBlock };
}

/** Lists the pool's and the registry's events that pass the filters, as a table, JSON or CSV. */
export default async function eventsAction(args: EventsTaskArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    if (args.json && args.csv) {
      throw new TaskUserError("--json and --csv both set the output format: pass one of them");
    }
    const blockRange = args.blockRange;
    if (!Number.isSafeInteger(blockRange) || blockRange < 1) {
      throw new TaskUserError(`--block-range ${blockRange} is not a positive number of blocks: pass the number of blocks per eth_getLogs request, such as 2000`);
    }
    const device = parseOptionalAddress("device", args.device);
    const wallet = parseOptionalAddress("wallet", args.wallet);
    const feeder = isGiven(args.feeder) ? parseFeederId("feeder", args.feeder) : undefined;

    const chain = await openChain(hre, args);
    try {
      const contracts: QueriedContract[] = [
        { name: "PayoutPool", address: chain.addresses.pool, contractInterface: chain.pool.interface },
        { name: "DeviceRegistry", address: chain.addresses.registry, contractInterface: chain.registry.interface },
      ];
      const types = resolveEventTypes(isGiven(args.type) ? [args.type] : [], knownEventNames(contracts));
      const blocks = await resolveBlocks(chain.provider, args);
      const rows = blocks === undefined
        ? []
        : await queryEvents(
            chain.provider,
            contracts,
            { types, device, wallet, feeder, ...blocks, blockRange },
            { formatAmount: (wei) => formatTokenExact(wei, false), decodeFeeder: decodeFeederText, formatSecond: formatUnixSecond },
          );
      if (args.json) {
        io.out.write(renderJson(rows));
      } else if (args.csv) {
        io.out.write(renderCsv(rows));
      } else {
        io.out.write(renderTable(rows));
      }
    } finally {
      chain.close();
    }
  });
}
