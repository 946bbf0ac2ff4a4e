import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { OutageInterval } from "../../device-agent/sources/power-source.ts";
import type { OffRun } from "../../protocol/compensation.ts";
import { DEFAULT_DEVICES, DEFAULT_FUNDING_TOKENS, type DemoOptions } from "../../scripts/demo/options.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The real BC Hydro outage feed, read from beside the repository and never copied into it. */
export const BCHYDRO_CSV = path.resolve(REPO_ROOT, "..", "shared", "data", "bchydro-outages-12days.csv");

/** Creates a fresh folder for one demo run's logs, keys and databases. */
export function tempRunDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `demo-${label}-`));
}

/** Removes a run folder and the Ignition deployment folder a test run created. */
export function removeRun(runDir: string, deploymentDir: string | undefined): void {
  rmSync(runDir, { recursive: true, force: true });
  if (deploymentDir !== undefined) {
    rmSync(deploymentDir, { recursive: true, force: true });
  }
}

/** Demo options for a run driven from a test: a local Hardhat node, no time limit, a fresh run folder. */
export function testDemoOptions(runDir: string, timeScale: number): DemoOptions {
  return {
    dataFile: undefined,
    devices: DEFAULT_DEVICES,
    eventIds: [],
    timeScale,
    durationRealSeconds: undefined,
    rpcUrl: undefined,
    fundingTokens: DEFAULT_FUNDING_TOKENS,
    runDir,
    help: false,
  };
}

/** Turns half-open outages [start, end) into the inclusive runs of off-seconds the pool settles. */
export function offRunsOf(outages: readonly OutageInterval[]): OffRun[] {
  return outages.map((outage) => ({ fromSecond: outage.startSecond, toSecond: outage.endSecond - 1 }));
}
