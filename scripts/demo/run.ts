import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Wallet, parseEther } from "ethers";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { SimClock, type ClockDefinition } from "../../protocol/clock.ts";
import { DEFAULT_SCHEDULE } from "../../protocol/compensation.ts";
import { connectChain, startHardhatNode, type DemoChain } from "./chain.ts";
import { ChainReader, type ChainSnapshot } from "./chain-state.ts";
import type { ManagedChild } from "./child-process.ts";
import { ClockMiner, latestBlockTimestamp } from "./clock-miner.ts";
import { compileContracts } from "./compile.ts";
import { deployCentralElectric, type DemoDeployment } from "./deploy.ts";
import { createDeviceKeys, registerDevices, type DemoDevice } from "./devices.ts";
import { formatCount, formatLocalTime } from "./format.ts";
import type { DemoOptions } from "./options.ts";
import { outageProgressAt } from "./outage-progress.ts";
import type { ReplayGroup } from "./plan.ts";
import { prepareRunDir } from "./run-dir.ts";
import { childEnv, startAgents, startOracle } from "./services.ts";
import { buildSummary, renderSummary, summaryToJson, type DemoSummary } from "./summary.ts";
import { compressTimeline, dataSecondAt, type ReplayTimeline } from "./timeline.ts";
import { renderView } from "./view.ts";

/** Real seconds between the run start and the first replayed outage, so every agent is up before power goes. */
const LEAD_REAL_SECONDS = 5;

/** Real seconds after the replay's end within which every outage second must be settled. */
const SETTLE_DEADLINE_REAL_SECONDS = 120;

/** Real seconds an outage second may be old before the demo expects a settlement for it. */
const SETTLE_SLACK_REAL_SECONDS = 10;

/** Real milliseconds a child may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_REAL_MS = 5_000;

/** Exit code after Ctrl-C, as shells report a process ended by SIGINT (128 + 2). */
const INTERRUPTED_EXIT_CODE = 130;

/** Real seconds between status lines when the output is not a terminal. */
const STATUS_INTERVAL_REAL_SECONDS = 10;

export type DemoRunSettings = {
  options: DemoOptions;
  groups: ReplayGroup[];
  /** Receives the view, status lines and the summary. */
  write: (text: string) => void;
  /** True to redraw the live view in place (a terminal), false to print a status line every 10 s. */
  interactive: boolean;
  /** Aborted by Ctrl-C: the demo stops its processes and prints the summary. */
  signal: AbortSignal;
};

/** The end of a run: exit code, reason, run folder, devices and summary. */
export type DemoOutcome = {
  exitCode: number;
  /** The reason the run stopped, as a sentence. */
  reason: string;
  runDir: string;
  devices: DemoDevice[];
  summary: DemoSummary | undefined;
  deployment: DemoDeployment | undefined;
};

/** A failure that ends the run; its message names what failed and where to look. */
export class DemoRunError extends Error {
  override readonly name = "DemoRunError";
}

function makeRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function checkNotAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new DemoRunError("interrupted during set-up");
  }
}

/** State of a run that the clean-up needs, whichever step failed. */
type RunState = {
  chain: DemoChain | undefined;
  miner: ClockMiner | undefined;
  reader: ChainReader | undefined;
  deployment: DemoDeployment | undefined;
  children: ManagedChild[];
  devices: DemoDevice[];
  clock: SimClock | undefined;
};

/**
 * Runs the whole demo: chain, deployment, devices, oracle node, agents and the replay, then
 * stops every process and returns the summary. A failure of the run (a process that
 * crashed, a deployment that failed) is reported in the outcome's exit code and reason.
 * Throws RunDirError, before anything starts, when the run folder cannot be created or written.
 */
export async function runDemo(settings: DemoRunSettings): Promise<DemoOutcome> {
  const { options, write, signal } = settings;
  const runId = makeRunId();
  const runDir =
    options.runDir === undefined
      ? prepareRunDir(path.join(PROJECT_ROOT, ".demo", runId), "the run folder", `make ${path.join(PROJECT_ROOT, ".demo")} writable or give --run-dir <folder>`)
      : prepareRunDir(options.runDir, `--run-dir ${options.runDir}`, "give a folder you can write to");
  const state: RunState = { chain: undefined, miner: undefined, reader: undefined, deployment: undefined, children: [], devices: [], clock: undefined };
  let exitCode = 0;
  let reason: string;

  try {
    const ended = await setUpAndReplay(settings, runId, runDir, state);
    exitCode = ended.exitCode;
    reason = ended.reason;
  } catch (error) {
    exitCode = 1;
    reason = error instanceof Error ? error.message : String(error);
  }

  // The simulated second at which the demo stopped, up to which the summary computes what is owed.
  // The miner stops first, so blocks mined while the processes shut down advance only at real
  // speed from a stamp before this second, and the pool settles almost nothing past it.
  const stoppedSecond = state.clock?.nowSeconds();
  await state.miner?.stop();
  const failed = state.children.filter((child) => child.crashed);
  await Promise.all([...state.children].reverse().map((child) => child.stop(STOP_GRACE_REAL_MS)));

  let summary: DemoSummary | undefined;
  if (state.reader !== undefined && state.deployment !== undefined && stoppedSecond !== undefined) {
    try {
      summary = await collectSummary(state.reader, state.deployment, state.devices, stoppedSecond);
    } catch (error) {
      exitCode = 1;
      reason += `; reading the summary failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  if (state.chain?.process !== undefined) {
    await state.chain.process.stop(STOP_GRACE_REAL_MS);
  }
  state.chain?.provider.destroy();

  if (summary !== undefined) {
    write(`\n${renderSummary(summary)}\n`);
    if (state.deployment !== undefined) {
      writeFileSync(path.join(runDir, "summary.json"), summaryToJson(summary, state.deployment));
    }
    const shouldHaveSettled = state.devices.some((device) => {
      const first = device.simOutages[0];
      return first !== undefined && stoppedSecond !== undefined && first.startSecond < stoppedSecond - SETTLE_SLACK_REAL_SECONDS * options.timeScale;
    });
    if (exitCode === 0 && shouldHaveSettled && summary.entries === 0) {
      exitCode = 1;
      reason = `nothing was settled although outages began more than ${SETTLE_SLACK_REAL_SECONDS} real seconds before the end; see ${path.join(runDir, "oracle-node.log")}`;
    }
  }
  if (options.rpcUrl !== undefined && state.deployment !== undefined) {
    write(`The chain at ${options.rpcUrl} keeps running with deployment ${state.deployment.deploymentId} (pool ${state.deployment.pool}).\n`);
  }
  const interrupted = exitCode === INTERRUPTED_EXIT_CODE;
  write(`\n${exitCode === 0 ? "Done" : interrupted ? "Stopped" : "Failed"}: ${reason}\nLogs: ${runDir}\n`);
  if ((exitCode !== 0 && !interrupted) || failed.length > 0) {
    for (const child of failed.length > 0 ? failed : state.children.slice(0, 1)) {
      write(`\nLast lines of ${child.logFile}:\n${child.tail(15).join("\n")}\n`);
    }
  }
  return { exitCode, reason, runDir, devices: state.devices, summary, deployment: state.deployment };
}

async function setUpAndReplay(settings: DemoRunSettings, runId: string, runDir: string, state: RunState): Promise<{ exitCode: number; reason: string }> {
  const { options, write, signal } = settings;
  const scale = options.timeScale;

  const plans = settings.groups.flatMap((group) => group.devices);
  if (plans.length === 0) {
    throw new DemoRunError("there is no device with an outage to replay");
  }
  const labels = plans.map((plan) => plan.label);
  const repeated = labels.find((label, index) => labels.indexOf(label) !== index);
  if (repeated !== undefined) {
    throw new DemoRunError(`two devices are labelled ${repeated}; every device needs its own label, which names its folder`);
  }

  for (const group of settings.groups) {
    write(`replaying ${group.title}: ${formatCount(group.devices.length, "device")}\n${group.notes.map((note) => `  ${note}\n`).join("")}`);
  }

  await compileContracts(path.join(runDir, "compile.log"), childEnv({}));
  checkNotAborted(signal);

  const chain = options.rpcUrl === undefined ? await startHardhatNode(path.join(runDir, "chain.log"), PROJECT_ROOT, childEnv({})) : await connectChain(options.rpcUrl);
  state.chain = chain;
  write(`chain: ${chain.url}, chain id ${chain.chainId}, ${chain.clientVersion}${chain.process === undefined ? " (given by --rpc)" : " (started by the demo)"}\n`);
  if (scale !== 1 && !chain.isHardhat) {
    throw new DemoRunError(`--time-scale ${scale} needs a Hardhat development chain whose clock the demo can set, but ${chain.url} runs ${chain.clientVersion}; use --time-scale 1 or a Hardhat node`);
  }
  checkNotAborted(signal);

  const committee = Wallet.createRandom();
  const fromBlock = await chain.provider.getBlockNumber();
  const deployment = await deployCentralElectric(chain.url, `demo-${runId}`, committee.address, options.fundingTokens, fromBlock);
  state.deployment = deployment;
  const reader = new ChainReader(chain.provider, deployment);
  state.reader = reader;
  write(`deployed with Ignition as ${deployment.deploymentId}: pool ${deployment.pool}, registry ${deployment.registry}, token ${deployment.token}\n`);
  const board = await chain.provider.getSigner(0);
  await (await board.sendTransaction({ to: committee.address, value: parseEther("100") })).wait();
  checkNotAborted(signal);

  const latest = await latestBlockTimestamp(chain.provider);
  const clockDefinition: ClockDefinition = { realAnchorMs: Date.now(), simAnchorSeconds: Math.max(latest + 1, Math.floor(Date.now() / 1000)), scale };
  const clock = new SimClock(clockDefinition);
  state.clock = clock;
  if (chain.isHardhat) {
    const miner = new ClockMiner(chain.provider, clock);
    await miner.mineNow();
    miner.start();
    state.miner = miner;
  }

  const password = randomBytes(16).toString("hex");
  const keyed = await createDeviceKeys(runDir, plans, password, clock.nowSeconds());
  const registeredAt = await registerDevices(reader.registry, board, keyed);
  write(`registered ${formatCount(keyed.length, "device")}, each bound to a new payout wallet and its feeder\n`);
  checkNotAborted(signal);

  const runStartSecond = Math.max(clock.nowSeconds(), registeredAt) + 1;
  const firstOutageSecond = runStartSecond + Math.max(60, Math.ceil(LEAD_REAL_SECONDS * scale));
  const timelines = settings.groups.map((group) => compressTimeline(group.devices.map((device) => device.outages), firstOutageSecond));
  const simOutages = timelines.flatMap((timeline) => timeline.shifted);
  const devices = keyed.map((device, index) => ({ ...device, simOutages: simOutages[index] ?? [] }));
  state.devices = devices;

  const oracle = await startOracle(runDir, chain.url, deployment, committee.privateKey, clockDefinition);
  state.children.push(oracle.child);
  write(`oracle node listening on ws://127.0.0.1:${oracle.port}, committee key ${committee.address}\n`);
  checkNotAborted(signal);
  state.children.push(...startAgents(runDir, devices, oracle.port, chain.chainId, deployment.pool, password, clockDefinition, runStartSecond));
  write(`started ${formatCount(devices.length, "device agent")}; logs in ${runDir}\n`);

  return replayLoop(settings, runId, runDir, state, reader, clock, devices, timelines, runStartSecond);
}

async function replayLoop(
  settings: DemoRunSettings,
  runId: string,
  runDir: string,
  state: RunState,
  reader: ChainReader,
  clock: SimClock,
  devices: readonly DemoDevice[],
  timelines: readonly ReplayTimeline[],
  runStartSecond: number,
): Promise<{ exitCode: number; reason: string }> {
  const { options, write, signal } = settings;
  const startedRealMs = Date.now();
  const hasOpenOutage = devices.some((device) => device.simOutages.some((outage) => outage.open));
  const replayEndSecond = Math.max(...devices.map((device) => device.simOutages.at(-1)?.endSecond ?? runStartSecond));
  const chainLabel = `chain ${state.chain?.chainId ?? "?"}`;
  let snapshot: ChainSnapshot | undefined;
  let lastStatusRealMs = 0;
  let firstFrame = true;

  for (;;) {
    await sleep(1_000, signal);
    const simNow = clock.nowSeconds();
    const elapsedRealSeconds = (Date.now() - startedRealMs) / 1000;
    try {
      snapshot = await reader.snapshot(devices);
    } catch {
      // A busy node can miss one read; the next frame tries again and the view keeps the last values.
    }

    const progressFraction = (simNow - runStartSecond) / Math.max(1, replayEndSecond - runStartSecond);
    const settled =
      snapshot !== undefined &&
      !hasOpenOutage &&
      devices.every((device, index) => {
        const last = device.simOutages.at(-1);
        return last === undefined || (snapshot?.devices[index]?.lastSettledSecond ?? 0) >= last.endSecond - 1;
      });
    let status = "replaying";
    if (settled) {
      status = "every outage second settled";
    } else if (simNow >= replayEndSecond) {
      status = "replay over, waiting for the last batches";
    }

    const model = {
      runId,
      runDir,
      chainLabel,
      timeScale: options.timeScale,
      elapsedRealSeconds,
      groups: settings.groups.map((group, index) => {
        const timeline = timelines[index];
        return { title: group.title, localTime: timeline === undefined ? "-" : formatLocalTime(dataSecondAt(timeline, simNow), group.timeZone), notes: group.notes };
      }),
      progressFraction,
      devices: devices.map((device) => ({ label: device.label, feederName: device.feederName, wallet: device.wallet, progress: outageProgressAt(DEFAULT_SCHEDULE, device.simOutages, simNow) })),
      snapshot,
      status,
    };
    if (settings.interactive) {
      write(`${firstFrame ? "\x1b[2J" : ""}\x1b[H\x1b[J${renderView(model)}\n`);
      firstFrame = false;
    } else if (Date.now() - lastStatusRealMs >= STATUS_INTERVAL_REAL_SECONDS * 1000) {
      lastStatusRealMs = Date.now();
      const paid = snapshot === undefined ? "-" : formatCount(snapshot.pool.lastBatchSequence, "batch", "batches");
      write(`[${Math.floor(elapsedRealSeconds)} s] replay ${Math.min(100, Math.max(0, Math.floor(progressFraction * 100)))}%, ${paid}, ${status}\n`);
    }

    const crashed = state.children.find((child) => child.crashed);
    if (crashed !== undefined) {
      return { exitCode: 1, reason: `${crashed.name} exited with ${crashed.exit?.code ?? crashed.exit?.signal} during the replay; see ${crashed.logFile}` };
    }
    if (signal.aborted) {
      return { exitCode: INTERRUPTED_EXIT_CODE, reason: "interrupted by Ctrl-C" };
    }
    if (options.durationRealSeconds !== undefined) {
      if (elapsedRealSeconds >= options.durationRealSeconds) {
        return { exitCode: 0, reason: `--duration ${options.durationRealSeconds} s reached` };
      }
    } else if (settled) {
      return { exitCode: 0, reason: "the replay is over and every outage second is settled" };
    } else if (!hasOpenOutage && clock.realMsUntil(replayEndSecond) === 0 && (clock.nowMs() / 1000 - replayEndSecond) / options.timeScale > SETTLE_DEADLINE_REAL_SECONDS) {
      return { exitCode: 1, reason: `not every outage second was settled ${SETTLE_DEADLINE_REAL_SECONDS} real seconds after the replay ended; see ${path.join(runDir, "oracle-node.log")}` };
    }
  }
}

/** Reads the settlements and balances from the chain, with what the schedule owes for the off-seconds before `stoppedSecond`. */
async function collectSummary(reader: ChainReader, deployment: DemoDeployment, devices: readonly DemoDevice[], stoppedSecond: number): Promise<DemoSummary> {
  const [history, balances, pool] = await Promise.all([
    reader.settlementHistory(deployment.fromBlock),
    Promise.all(devices.map((device) => reader.balanceOf(device.wallet))),
    reader.poolTotals(),
  ]);
  const expected = devices.map((device) => outageProgressAt(DEFAULT_SCHEDULE, device.simOutages, stoppedSecond).owedWei);
  return buildSummary(devices, history, balances, expected, pool);
}
