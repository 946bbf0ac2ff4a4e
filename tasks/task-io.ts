import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { errorResult, successfulResult } from "hardhat/utils/result";

/** Output stream of a task. `isTTY` lets live views redraw one line in place. */
export type TextWriter = {
  write(text: string): unknown;
  isTTY?: boolean;
};

/** The standard output and error streams of a task. */
export type TaskIo = {
  out: TextWriter;
  err: TextWriter;
};

/**
 * A failure the user can fix: bad input, a missing deployment or a reverted transaction.
 * Tasks print its message without a stack trace and exit with code 1.
 */
export class TaskUserError extends Error {
  override readonly name = "TaskUserError";
}

const taskIoByRuntime = new WeakMap<HardhatRuntimeEnvironment, TaskIo>();

/** Sends the output of tasks run through `hre` to `io` instead of the process streams. */
export function setTaskIo(hre: HardhatRuntimeEnvironment, io: TaskIo): void {
  taskIoByRuntime.set(hre, io);
}

/** Returns the streams that tasks run through `hre` write to: the process streams unless replaced. */
export function taskIo(hre: HardhatRuntimeEnvironment): TaskIo {
  return taskIoByRuntime.get(hre) ?? { out: process.stdout, err: process.stderr };
}

/** Result of a task action: a failed result makes the Hardhat CLI exit with code 1. */
export type TaskOutcome = { readonly success: true; readonly value: undefined } | { readonly success: false; readonly error: TaskUserError };

/**
 * Runs a task body. A TaskUserError is written to the error stream as `error: <message>` and
 * returned as a failed result. Other errors propagate with their stack, because they are bugs.
 */
export async function runTaskBody(hre: HardhatRuntimeEnvironment, body: (io: TaskIo) => Promise<void>): Promise<TaskOutcome> {
  const io = taskIo(hre);
  try {
    await body(io);
    return successfulResult();
  } catch (error) {
    if (error instanceof TaskUserError) {
      io.err.write(`error: ${error.message}\n`);
      return errorResult(error);
    }
    throw error;
  }
}
