import { randomBytes } from "node:crypto";
import { mkdirSync, statSync, unlinkSync, writeFileSync, type Stats } from "node:fs";
import path from "node:path";

/** A run folder the demo cannot create or write to. The message names the path and the fix. */
export class RunDirError extends Error {
  override readonly name = "RunDirError";
}

function errorCode(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Returns the stats of `target`, or undefined when it or a folder above it does not exist. */
function statIfExists(target: string): Stats | undefined {
  try {
    return statSync(target);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") {
      return undefined;
    }
    throw new RunDirError(`reading ${target} failed with ${code}`);
  }
}

/**
 * Creates `folder` and the missing folders above it, one mkdir each. Node's recursive mkdir
 * is not used because with Node 24.21 on Linux 6.18 it loops forever on a path such as
 * /proc/x, where mkdir fails with ENOENT under an existing parent, and blocks the SIGTERM handler.
 */
function createFolder(folder: string): void {
  const stats = statIfExists(folder);
  if (stats !== undefined) {
    if (!stats.isDirectory()) {
      throw new RunDirError(`${folder} is a file, not a folder`);
    }
    return;
  }
  const parent = path.dirname(folder);
  if (parent === folder) {
    throw new RunDirError(`the root folder ${folder} does not exist`);
  }
  createFolder(parent);
  try {
    mkdirSync(folder);
  } catch (error) {
    if (statIfExists(folder)?.isDirectory() !== true) {
      throw new RunDirError(`creating the folder ${folder} failed with ${errorCode(error)}`);
    }
  }
}

/** Writes and removes a probe file, because a folder can exist and still reject new files (e.g. /proc). */
function checkWritable(folder: string): void {
  const probe = path.join(folder, `.write-check-${randomBytes(4).toString("hex")}`);
  try {
    writeFileSync(probe, "", { flag: "wx" });
  } catch (error) {
    throw new RunDirError(`writing a file in ${folder} failed with ${errorCode(error)}`);
  }
  unlinkSync(probe);
}

/**
 * Creates the run folder if missing and checks that files can be written in it. Returns its
 * absolute path. Throws RunDirError whose message starts with `description`, names the path
 * and the step that failed, and ends with `fix`.
 */
export function prepareRunDir(folder: string, description: string, fix: string): string {
  const absolute = path.resolve(folder);
  try {
    createFolder(absolute);
    checkWritable(absolute);
  } catch (error) {
    if (error instanceof RunDirError) {
      throw new RunDirError(`${description} cannot be used: ${error.message}; ${fix}`);
    }
    throw error;
  }
  return absolute;
}
