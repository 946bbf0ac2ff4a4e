import { expect } from "chai";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { PowerChange } from "../../../device-agent/sources/power-source.ts";
import { SysfsSource, readMainsState, readMainsSupplies } from "../../../device-agent/sources/sysfs.ts";

/**
 * Writes a supply folder as the kernel lays it out: one value per file. Each file is
 * replaced by a rename so that a poll never reads it half written.
 */
async function writeSupply(root: string, name: string, values: Record<string, string>): Promise<void> {
  await mkdir(path.join(root, name), { recursive: true });
  for (const [file, value] of Object.entries(values)) {
    const target = path.join(root, name, file);
    await writeFile(`${target}.new`, `${value}\n`);
    await rename(`${target}.new`, target);
  }
}

async function errorOf(run: () => Promise<unknown>): Promise<PowerSourceError | null> {
  try {
    await run();
  } catch (error) {
    return error instanceof PowerSourceError ? error : null;
  }
  return null;
}

describe("sysfs power source", () => {
  let root = "";

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "ce-power-supply-"));
    await writeSupply(root, "AC", { type: "Mains", online: "1" });
    await writeSupply(root, "ADP2", { type: "Mains", online: "0" });
    await writeSupply(root, "BAT0", { type: "Battery", status: "Discharging", capacity: "80" });
    await writeSupply(root, "ucsi-source-psy-USBC000:001", { type: "USB", online: "1" });
    await writeSupply(root, "hidpp_battery_0", { type: "Battery", online: "1" });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("only Mains supplies are read", async () => {
    expect(await readMainsSupplies(root)).to.deep.equal([
      { name: "AC", online: true },
      { name: "ADP2", online: false },
    ]);
    expect(await readMainsState(root)).to.equal("on");
  });

  it("off when every Mains supply is offline", async () => {
    await writeSupply(root, "AC", { online: "0" });
    // The USB supply and the battery still report online, which does not count.
    expect(await readMainsState(root)).to.equal("off");
  });

  it("no Mains supply is an error", async () => {
    await rm(path.join(root, "AC"), { recursive: true });
    await rm(path.join(root, "ADP2"), { recursive: true });
    const error = await errorOf(() => readMainsState(root));
    expect(error?.code).to.equal("SOURCE_UNAVAILABLE");
    expect(error?.details).to.deep.equal({ root });
  });

  it("unreadable online value is an error", async () => {
    await writeSupply(root, "ADP2", { online: "yes" });
    const error = await errorOf(() => readMainsState(root));
    expect(error?.code).to.equal("SOURCE_UNAVAILABLE");
    expect(error?.details).to.deep.equal({ root, supply: "ADP2", online: "yes" });
  });

  it("source reports changes and survives read failures", async () => {
    let simSecond = 1_900_000_000;
    const source = new SysfsSource({ root, pollIntervalRealMs: 5, now: () => simSecond * 1000, scale: 1 });
    const changes: PowerChange[] = [];
    const errors: Error[] = [];
    let notify: () => void = () => {};
    const nextEvent = (): Promise<void> => new Promise((resolve) => (notify = resolve));
    const onChange = (change: PowerChange): void => {
      changes.push(change);
      notify();
    };
    const onError = (error: Error): void => {
      errors.push(error);
      notify();
    };

    await source.start(onChange, onError);
    expect(changes).to.deep.equal([{ state: "on", atSecond: 1_900_000_000, source: "sysfs" }]);

    simSecond += 100;
    let event = nextEvent();
    await writeSupply(root, "AC", { online: "0" });
    await event;
    expect(changes[1]).to.deep.equal({ state: "off", atSecond: 1_900_000_100, source: "sysfs" });

    // A broken Mains supply makes the state unknown and reports one error, not an outage change.
    simSecond += 100;
    event = nextEvent();
    await writeSupply(root, "ADP2", { online: "" });
    await event;
    expect(errors).to.have.length(1);
    expect(errors[0] instanceof PowerSourceError ? errors[0].code : null).to.equal("SOURCE_UNAVAILABLE");
    expect(source.currentState()).to.equal("unknown");

    simSecond += 100;
    event = nextEvent();
    await writeSupply(root, "ADP2", { online: "1" });
    await event;
    await source.stop();

    expect(changes).to.have.length(3);
    expect(changes[2]).to.deep.equal({ state: "on", atSecond: 1_900_000_300, source: "sysfs" });
    expect(errors).to.have.length(1);
    expect(source.currentState()).to.equal("on");
  });

  it("invalid poll interval is rejected", () => {
    expect(() => new SysfsSource({ root, pollIntervalRealMs: 0, now: () => 0, scale: 1 })).to.throw(PowerSourceError, "pollIntervalRealMs 0");
  });
});
