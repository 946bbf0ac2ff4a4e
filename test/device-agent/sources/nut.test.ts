import { expect } from "chai";
import { NutSource, parseStatusReply, parseUpsStatus } from "../../../device-agent/sources/nut.ts";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { PowerChange } from "../../../device-agent/sources/power-source.ts";
import { NUT_SERVER_PACKAGE, findNutBinaries, startUpsdFixture } from "../../helpers/upsd.ts";
import type { UpsdFixture } from "../../helpers/upsd.ts";

const WAIT_STEP_MS = 20;

/** Resolves once `check` holds, checking every few milliseconds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) {
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

describe("NUT power source", () => {
  it("ups.status flags map to the mains state", () => {
    const cases: [string, string][] = [
      ["OL", "on"],
      ["OL CHRG", "on"],
      ["OB", "off"],
      ["OB DISCHRG", "off"],
      ["OB LB", "off"],
      ["FSD OB LB", "off"],
      ["OB CAL", "on"],
      ["OFF", "unknown"],
      ["", "unknown"],
    ];
    for (const [status, state] of cases) {
      expect(parseUpsStatus(status), status).to.equal(state);
    }
  });

  it("status reply parsing", () => {
    expect(parseStatusReply('VAR dummy ups.status "OB LB"', "dummy")).to.equal("OB LB");
    expect(parseStatusReply('VAR dummy ups.status "OL \\"x\\""', "dummy")).to.equal('OL "x"');
    let caught: unknown;
    try {
      parseStatusReply("ERR DATA-STALE", "dummy");
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof PowerSourceError ? caught.details : null).to.deep.equal({ upsName: "dummy", reply: "ERR DATA-STALE", nutError: "DATA-STALE" });
    expect(() => parseStatusReply('VAR other ups.status "OL"', "dummy")).to.throw(PowerSourceError);
  });

  it("invalid options are rejected", () => {
    const clock = { now: () => 0, scale: 1 };
    expect(() => new NutSource({ upsName: "ups name", ...clock })).to.throw(PowerSourceError, "UPS name");
    expect(() => new NutSource({ upsName: "ups", port: 70_000, ...clock })).to.throw(PowerSourceError, "port 70000");
    expect(() => new NutSource({ upsName: "ups", pollIntervalRealMs: -1, ...clock })).to.throw(PowerSourceError, "pollIntervalRealMs -1");
  });

  describe("against a real upsd", function () {
    this.timeout(60_000);
    let upsd: UpsdFixture | null = null;
    const simSecond = 1_900_000_000;
    const clock = { now: () => simSecond * 1000, scale: 1 };

    before(async function () {
      const binaries = findNutBinaries();
      if (binaries === null) {
        console.log(`    upsd and dummy-ups not found: install the Debian package ${NUT_SERVER_PACKAGE} to run these tests`);
        this.skip();
      }
      upsd = await startUpsdFixture(binaries);
    });

    after(async () => {
      await upsd?.close();
    });

    it("follows the UPS between on line and on battery", async () => {
      if (upsd === null) {
        throw new Error("upsd fixture missing");
      }
      const source = new NutSource({ upsName: upsd.upsName, port: upsd.port, pollIntervalRealMs: 50, ...clock });
      const changes: PowerChange[] = [];
      const errors: Error[] = [];
      await source.start((change) => changes.push(change), (error) => errors.push(error));
      expect(changes).to.deep.equal([{ state: "on", atSecond: simSecond, source: "nut:dummy" }]);

      await upsd.setStatus("OB DISCHRG");
      await until(() => changes.length === 2);
      expect(changes[1]).to.deep.equal({ state: "off", atSecond: simSecond, source: "nut:dummy" });

      // LB joins OB without a change of mains state.
      await upsd.setStatus("OB LB");
      await upsd.waitForStatus("OB LB");
      await upsd.setStatus("OL CHRG");
      await until(() => changes.length === 3);
      await source.stop();

      expect(changes[2]).to.deep.equal({ state: "on", atSecond: simSecond, source: "nut:dummy" });
      expect(errors).to.deep.equal([]);
    });

    it("upsd restart makes the state unknown without an outage", async () => {
      if (upsd === null) {
        throw new Error("upsd fixture missing");
      }
      await upsd.setStatus("OL");
      await upsd.waitForStatus("OL");
      const source = new NutSource({ upsName: upsd.upsName, port: upsd.port, pollIntervalRealMs: 50, minBackoffRealMs: 20, maxBackoffRealMs: 200, ...clock });
      const changes: PowerChange[] = [];
      const errors: Error[] = [];
      await source.start((change) => changes.push(change), (error) => errors.push(error));
      expect(source.currentState()).to.equal("on");

      await upsd.stopUpsd();
      await until(() => source.currentState() === "unknown");
      expect(errors).to.have.length(1);
      const error = errors[0];
      expect(error instanceof PowerSourceError ? error.code : null).to.equal("SOURCE_UNAVAILABLE");
      expect(error instanceof PowerSourceError ? error.details : null).to.deep.equal({ source: "nut:dummy", host: "127.0.0.1", port: upsd.port });

      await upsd.startUpsd();
      await until(() => source.currentState() === "on");
      expect(changes).to.deep.equal([{ state: "on", atSecond: simSecond, source: "nut:dummy" }]);

      // After the restart the source still sees a real outage.
      await upsd.setStatus("OB");
      await until(() => changes.length === 2);
      await source.stop();
      expect(changes[1]).to.deep.equal({ state: "off", atSecond: simSecond, source: "nut:dummy" });
      expect(errors).to.have.length(1);
      await upsd.setStatus("OL");
    });

    it("unknown UPS name is reported with the NUT error", async () => {
      if (upsd === null) {
        throw new Error("upsd fixture missing");
      }
      const source = new NutSource({ upsName: "missing", port: upsd.port, pollIntervalRealMs: 50, ...clock });
      const changes: PowerChange[] = [];
      const errors: Error[] = [];
      await source.start((change) => changes.push(change), (error) => errors.push(error));
      await source.stop();

      expect(changes).to.deep.equal([]);
      expect(source.currentState()).to.equal("unknown");
      const error = errors[0];
      expect(error instanceof PowerSourceError ? error.code : null).to.equal("UNEXPECTED_REPLY");
      expect(error instanceof PowerSourceError ? error.details : null).to.deep.equal({ upsName: "missing", reply: "ERR UNKNOWN-UPS", nutError: "UNKNOWN-UPS" });
    });
  });
});
