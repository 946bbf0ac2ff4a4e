import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** Debian package that provides upsd and the dummy-ups driver. */
export const NUT_SERVER_PACKAGE = "nut-server";

export type NutBinaries = { upsd: string; dummyUps: string };

/**
 * A real upsd on 127.0.0.1 with one dummy-ups UPS, configured in a temporary folder through
 * NUT_CONFPATH and NUT_STATEPATH so that it needs no system configuration and no root.
 */
export type UpsdFixture = {
  port: number;
  upsName: string;
  folder: string;
  /** Rewrites the dummy UPS status, for example "OL" or "OB LB". */
  setStatus(status: string): Promise<void>;
  /** Waits until upsd serves `status` for the UPS. */
  waitForStatus(status: string): Promise<void>;
  stopUpsd(): Promise<void>;
  startUpsd(): Promise<void>;
  close(): Promise<void>;
};

const WAIT_STEP_MS = 50;
const WAIT_LIMIT_MS = 20_000;

function isExecutable(path: string): boolean {
  if (!existsSync(path)) {
    return false;
  }
  // Debian's /sbin/upsd is a shell wrapper that exits unless nut.conf enables a mode, so
  // only ELF binaries count.
  return readFileSync(path).subarray(0, 4).toString("latin1") === "\x7fELF";
}

/** Finds upsd and dummy-ups, or returns null when nut-server is not installed. */
export function findNutBinaries(): NutBinaries | null {
  for (const folder of ["/lib/nut", "/usr/lib/nut", "/usr/libexec/nut"]) {
    const upsd = join(folder, "upsd");
    const dummyUps = join(folder, "dummy-ups");
    if (isExecutable(upsd) && isExecutable(dummyUps)) {
      return { upsd, dummyUps };
    }
  }
  return null;
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(description: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${description}`);
    }
    await sleep(WAIT_STEP_MS);
  }
}

/** Sends one line to upsd and returns its first reply line, or null when it cannot connect. */
async function askUpsd(port: number, line: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = "";
    socket.setEncoding("utf8");
    socket.once("error", () => resolve(null));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf("\n");
      if (end !== -1) {
        socket.destroy();
        resolve(buffer.slice(0, end));
      }
    });
    socket.connect(port, "127.0.0.1", () => socket.write(`${line}\n`));
  });
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Writes the NUT configuration, starts dummy-ups and upsd, and waits until upsd serves "OL". */
export async function startUpsdFixture(binaries: NutBinaries, upsName = "dummy"): Promise<UpsdFixture> {
  const folder = await mkdtemp(join(tmpdir(), "ce-upsd-"));
  const statePath = join(folder, "state");
  const devicePath = join(folder, `${upsName}.dev`);
  const port = await findFreePort();
  const user = userInfo().username;
  let statusWrites = 0;

  await mkdir(statePath, { mode: 0o700 });
  await chmod(statePath, 0o700);
  await writeFile(join(folder, "ups.conf"), `[${upsName}]\n  driver = dummy-ups\n  port = ${devicePath}\n  pollinterval = 1\n  desc = "test UPS"\n`);
  await writeFile(join(folder, "upsd.conf"), `LISTEN 127.0.0.1 ${port}\nSTATEPATH ${statePath}\n`, { mode: 0o600 });
  await writeFile(join(folder, "upsd.users"), "", { mode: 0o600 });

  const environment = { ...process.env, NUT_CONFPATH: folder, NUT_STATEPATH: statePath };
  // -u names the current user, so upsd and the driver keep running as that user. Started as
  // root, they would otherwise switch to the "nut" user, which cannot read this folder.
  const spawnNut = (path: string, args: string[]): ChildProcess => spawn(path, [...args, "-F", "-u", user], { env: environment, stdio: "ignore" });

  const setStatus = async (status: string): Promise<void> => {
    await writeFile(devicePath, `ups.status: ${status}\nbattery.charge: 100\n`);
    // dummy-ups re-reads the file when its modification time changes, which it compares in
    // whole seconds, so each write moves the time forward by one second.
    statusWrites += 1;
    const mtime = Math.floor(Date.now() / 1000) + statusWrites;
    await utimes(devicePath, mtime, mtime);
  };

  const waitForStatus = async (status: string): Promise<void> => {
    await waitUntil(`upsd to serve ups.status "${status}"`, async () => (await askUpsd(port, `GET VAR ${upsName} ups.status`)) === `VAR ${upsName} ups.status "${status}"`);
  };

  await setStatus("OL");
  const driver = spawnNut(binaries.dummyUps, ["-a", upsName]);
  let server: ChildProcess | null = null;

  const startUpsd = async (): Promise<void> => {
    server = spawnNut(binaries.upsd, []);
    await waitUntil(`upsd to listen on 127.0.0.1:${port}`, async () => (await askUpsd(port, "VER")) !== null);
  };
  const stopUpsd = async (): Promise<void> => {
    await stopProcess(server);
    server = null;
  };

  try {
    await waitUntil("the dummy-ups driver socket", () => existsSync(join(statePath, `dummy-ups-${upsName}`)));
    await startUpsd();
    await waitForStatus("OL");
  } catch (error) {
    await stopUpsd();
    await stopProcess(driver);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }

  return {
    port,
    upsName,
    folder,
    setStatus,
    waitForStatus,
    stopUpsd,
    startUpsd,
    close: async () => {
      await stopUpsd();
      await stopProcess(driver);
      await rm(folder, { recursive: true, force: true });
    },
  };
}
