#!/usr/bin/env node
import { DataFileError, loadDataFile } from "./data-file.ts";
import { DemoOptionError, HELP_TEXT, parseDemoOptions, type DemoOptions } from "./options.ts";
import type { ReplayGroup } from "./plan.ts";
import { RunDirError, prepareRunDir } from "./run-dir.ts";
import { builtInScenario } from "./scenario.ts";
import { DEBOUNCE_SIM_SECONDS } from "./services.ts";

async function replayGroups(options: DemoOptions): Promise<ReplayGroup> {
  if (options.dataFile === undefined) {
    return builtInScenario(DEBOUNCE_SIM_SECONDS);
  }
  return loadDataFile({ file: options.dataFile, devices: options.devices, eventIds: options.eventIds, debounceSimSeconds: DEBOUNCE_SIM_SECONDS });
}

const RUN_DIR_FIX = "give a folder you can write to (a missing one is created), or leave out --run-dir to use .demo/<run id>";

async function main(argv: readonly string[]): Promise<number> {
  let options: DemoOptions;
  let group: ReplayGroup;
  try {
    options = parseDemoOptions(argv);
    if (options.help) {
      process.stdout.write(HELP_TEXT);
      return 0;
    }
    if (options.runDir !== undefined) {
      prepareRunDir(options.runDir, `--run-dir ${options.runDir}`, RUN_DIR_FIX);
    }
    group = await replayGroups(options);
  } catch (error) {
    if (error instanceof DemoOptionError || error instanceof DataFileError || error instanceof RunDirError) {
      process.stderr.write(`demo: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  // Loaded only now, so --help and option errors do not wait for Hardhat to load.
  const { runDemo } = await import("./run.ts");
  const abort = new AbortController();
  const interrupt = (): void => {
    if (abort.signal.aborted) {
      process.stderr.write("demo: still stopping the processes; they get SIGKILL after 5 s\n");
      return;
    }
    abort.abort();
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  try {
    const outcome = await runDemo({ options, groups: [group], write: (text) => process.stdout.write(text), interactive: process.stdout.isTTY === true, signal: abort.signal });
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof RunDirError) {
      process.stderr.write(`demo: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
