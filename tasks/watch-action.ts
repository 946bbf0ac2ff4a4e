import { setTimeout as sleep } from "node:timers/promises";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { SimClock, clockFromEnv } from "../protocol/clock.ts";
import { openChain } from "./chain-context.ts";
import { TaskUserError, runTaskBody, type TaskOutcome, type TextWriter } from "./task-io.ts";
import { isGiven, parseAddress, parseUnixTime } from "./task-input.ts";
import { findWalletDevices, formatReadingJson, formatReadingLine, interpolateReading, readWalletChainState, type WalletChainState } from "./wallet-reading.ts";

export type WatchTaskArguments = {
  wallet: string | undefined;
  once: boolean;
  json: boolean;
  at: string | undefined;
  intervalMs: number;
  maxInterpolationSeconds: number;
  blockRange: number;
  rpcUrl: string | undefined;
  deploymentId: string | undefined;
  pool: string | undefined;
};

/** Redraws the line in place on a terminal; elsewhere prints a new line whenever the text changes. */
function makeLinePrinter(out: TextWriter): { print(line: string): void; finish(): void } {
  let previous: string | undefined;
  return {
    print(line: string): void {
      if (line === previous) {
        return;
      }
      out.write(out.isTTY === true ? `\r\x1b[2K${line}` : `${line}\n`);
      previous = line;
    },
    finish(): void {
      if (out.isTTY === true && previous !== undefined) {
        out.write("\n");
      }
    },
  };
}

/**
 * Prints a wallet's token balance and, while one of its devices is in an outage, the amount
 * earned since the last settlement, interpolated second by second. Runs until Ctrl-C, or prints
 * one reading with --once.
 */
export default async function watchAction(args: WatchTaskArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const wallet = parseAddress("wallet", args.wallet);
    if (isGiven(args.at) && !args.once) {
      throw new TaskUserError("--at fixes the time of a single reading: use it together with --once");
    }
    if (args.json && !args.once) {
      throw new TaskUserError("--json prints a single reading: use it together with --once");
    }
    for (const [option, value] of [["interval-ms", args.intervalMs], ["block-range", args.blockRange]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new TaskUserError(`--${option} ${value} is not a positive integer: pass a number such as ${option === "interval-ms" ? 1000 : 2000}`);
      }
    }
    if (!Number.isSafeInteger(args.maxInterpolationSeconds) || args.maxInterpolationSeconds < 0) {
      throw new TaskUserError(`--max-interpolation-seconds ${args.maxInterpolationSeconds} is not a non-negative integer: pass a number of seconds such as 900`);
    }
    const maxInterpolationSeconds = BigInt(args.maxInterpolationSeconds);
    const fixedSecond = isGiven(args.at) ? parseUnixTime("at", args.at) : undefined;
    const clock = new SimClock(clockFromEnv());
    const nowSecond = (): bigint => fixedSecond ?? BigInt(clock.nowSeconds());

    const chain = await openChain(hre, args);
    try {
      const contracts = { pool: chain.pool, registry: chain.registry, token: chain.token };
      let scannedBlock = await chain.provider.getBlockNumber();
      const devices = new Set(await findWalletDevices(chain.registry, wallet, 0, scannedBlock, args.blockRange));
      let state: WalletChainState = await readWalletChainState(contracts, wallet, [...devices], scannedBlock);

      if (args.once) {
        const reading = interpolateReading(state, nowSecond(), maxInterpolationSeconds);
        io.out.write(args.json ? formatReadingJson(reading) : `${formatReadingLine(reading)}\n`);
        return;
      }

      const stop = new AbortController();
      const onInterrupt = (): void => stop.abort();
      process.once("SIGINT", onInterrupt);
      const printer = makeLinePrinter(io.out);
      try {
        while (!stop.signal.aborted) {
          const latest = await chain.provider.getBlockNumber();
          if (latest !== state.blockNumber) {
            if (latest > scannedBlock) {
              for (const device of await findWalletDevices(chain.registry, wallet, scannedBlock + 1, latest, args.blockRange)) {
                devices.add(device);
              }
              scannedBlock = latest;
            }
            state = await readWalletChainState(contracts, wallet, [...devices], latest);
          }
          printer.print(formatReadingLine(interpolateReading(state, nowSecond(), maxInterpolationSeconds)));
          await sleep(args.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
        }
      } finally {
        process.removeListener("SIGINT", onInterrupt);
        printer.finish();
      }
    } finally {
      chain.close();
    }
  });
}

