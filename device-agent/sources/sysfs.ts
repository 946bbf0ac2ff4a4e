import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PowerSourceError, checkClock, nowSecond } from "./power-source.ts";
import type { PowerChange, PowerSource, PowerState, SourceClock } from "./power-source.ts";

export const DEFAULT_POWER_SUPPLY_ROOT = "/sys/class/power_supply";
export const DEFAULT_SYSFS_POLL_INTERVAL_REAL_MS = 1_000;

export type SysfsSourceOptions = SourceClock & {
  /** Folder of power supplies. Default /sys/class/power_supply. */
  root?: string;
  /** Real milliseconds between reads. Default 1000. */
  pollIntervalRealMs?: number;
  name?: string;
};

/** A power supply of type Mains and whether it reports `online`. */
export type MainsSupply = {
  name: string;
  online: boolean;
};

async function readTrimmed(path: string): Promise<string | null> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    if (error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR")) {
      return null;
    }
    throw error;
  }
}

/**
 * Lists the supplies of type Mains under `root` (Linux power_supply class), sorted by name.
 * Other types (Battery, USB, UPS, Wireless) are left out. Throws SOURCE_UNAVAILABLE when
 * the folder cannot be read or a Mains supply has no readable `online` file.
 */
export async function readMainsSupplies(root: string): Promise<MainsSupply[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    throw new PowerSourceError("SOURCE_UNAVAILABLE", `cannot list power supplies in ${root}`, { root }, { cause: error });
  }

  const supplies: MainsSupply[] = [];
  for (const name of names.sort()) {
    const type = await readTrimmed(join(root, name, "type"));
    if (type !== "Mains") {
      continue;
    }
    const online = await readTrimmed(join(root, name, "online"));
    if (online === null || !/^\d+$/.test(online)) {
      throw new PowerSourceError("SOURCE_UNAVAILABLE", `Mains supply ${name} in ${root} has no readable online value (read ${JSON.stringify(online)})`, { root, supply: name, online });
    }
    supplies.push({ name, online: Number(online) !== 0 });
  }
  return supplies;
}

/**
 * Reads the mains state under `root`: "off" when every Mains supply reports `online` 0,
 * "on" when any reports it non-zero. Throws SOURCE_UNAVAILABLE when there is no Mains supply,
 * because then an outage cannot be told apart from a missing adapter.
 */
export async function readMainsState(root: string): Promise<PowerState> {
  const supplies = await readMainsSupplies(root);
  if (supplies.length === 0) {
    throw new PowerSourceError("SOURCE_UNAVAILABLE", `no power supply of type Mains in ${root}; check the root folder or use another source`, { root });
  }
  return supplies.some((supply) => supply.online) ? "on" : "off";
}

/**
 * Polls the Linux power_supply class for mains power. A change is reported at the second
 * of the read that saw it, so it can be up to one poll interval late. After a failed read
 * the state is "unknown" until a read succeeds again, and the first failure of a series goes
 * to `onError`.
 */
export class SysfsSource implements PowerSource {
  readonly name: string;
  readonly #root: string;
  readonly #pollIntervalRealMs: number;
  readonly #clock: SourceClock;
  #state: PowerState | "unknown" = "unknown";
  #reported: PowerState | null = null;
  #failing = false;
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #onChange: (change: PowerChange) => void = () => {};
  #onError: (error: Error) => void = () => {};

  constructor(options: SysfsSourceOptions) {
    const name = options.name ?? "sysfs";
    checkClock(options, name);
    const pollIntervalRealMs = options.pollIntervalRealMs ?? DEFAULT_SYSFS_POLL_INTERVAL_REAL_MS;
    if (!(Number.isFinite(pollIntervalRealMs) && pollIntervalRealMs > 0)) {
      throw new PowerSourceError("INVALID_CONFIG", `${name}: pollIntervalRealMs ${pollIntervalRealMs} must be a positive number of milliseconds`, { source: name, pollIntervalRealMs });
    }

    this.name = name;
    this.#root = options.root ?? DEFAULT_POWER_SUPPLY_ROOT;
    this.#pollIntervalRealMs = pollIntervalRealMs;
    this.#clock = { now: options.now, scale: options.scale };
  }

  currentState(): PowerState | "unknown" {
    return this.#state;
  }

  /** Reads once before it returns, so the first state (or error) is already reported. */
  async start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void> {
    this.#onChange = onChange;
    this.#onError = onError;
    this.#running = true;
    await this.#poll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  async #poll(): Promise<void> {
    this.#timer = null;
    try {
      const state = await readMainsState(this.#root);
      this.#failing = false;
      this.#update(state);
    } catch (error) {
      this.#state = "unknown";
      if (!this.#failing) {
        this.#failing = true;
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (this.#running) {
      this.#timer = setTimeout(() => void this.#poll(), this.#pollIntervalRealMs);
    }
  }

  #update(state: PowerState): void {
    this.#state = state;
    if (state === this.#reported || !this.#running) {
      return;
    }
    this.#reported = state;
    this.#onChange({ state, atSecond: nowSecond(this.#clock), source: this.name });
  }
}
