import { expect } from "chai";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT, removeRun, tempRunDir } from "../helpers/e2e-demo.ts";

const DEMO_CLI = path.join(REPO_ROOT, "scripts", "demo", "main.ts");

type CliResult = { code: number | null; stdout: string; stderr: string };

/** Real milliseconds after which a run that should have failed at once is killed, so a hang cannot outlive the test. */
const FAIL_FAST_KILL_REAL_MS = 60_000;

/**
 * Runs `node scripts/demo/main.ts` with `args` from the repository root and collects its output.
 * With `killAfterRealMs` the child gets SIGKILL after that long, and `code` is then null.
 */
function runDemoCli(args: readonly string[], killAfterRealMs?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO_CLI, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: killAfterRealMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Reads the summary.json the demo wrote to its run folder. */
function readSummary(runDir: string): { deploymentDir: string; paidWei: bigint[]; batches: number } {
  const parsed: unknown = JSON.parse(readFileSync(path.join(runDir, "summary.json"), "utf8"));
  if (typeof parsed !== "object" || parsed === null || !("deployment" in parsed) || !("summary" in parsed)) {
    throw new Error("summary.json has no deployment and summary");
  }
  const { deployment, summary } = parsed;
  if (typeof deployment !== "object" || deployment === null || !("deploymentDir" in deployment) || typeof deployment.deploymentDir !== "string") {
    throw new Error("summary.json has no deployment folder");
  }
  if (typeof summary !== "object" || summary === null || !("wallets" in summary) || !Array.isArray(summary.wallets) || !("batches" in summary) || typeof summary.batches !== "number") {
    throw new Error("summary.json has no wallets and batches");
  }
  const paidWei = summary.wallets.map((wallet: unknown) => {
    if (typeof wallet !== "object" || wallet === null || !("paidWei" in wallet) || typeof wallet.paidWei !== "string") {
      throw new Error("a wallet in summary.json has no paidWei");
    }
    return BigInt(wallet.paidWei);
  });
  return { deploymentDir: deployment.deploymentDir, paidWei, batches: summary.batches };
}

describe("demo command line", function () {
  it("prints every option in --help", async function () {
    const result = await runDemoCli(["--help"]);
    expect(result.code).to.equal(0);
    for (const option of ["--data", "--devices", "--events", "--time-scale", "--duration", "--rpc", "--funding", "--run-dir", "--help"]) {
      expect(result.stdout, option).to.contain(option);
    }
  });

  it("rejects a time scale below 1", async function () {
    const result = await runDemoCli(["--time-scale", "0"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal("demo: --time-scale 0 is invalid: use a number of simulated seconds per real second from 1 to 3600\n");
  });

  it("rejects a negative --funding with its range", async function () {
    const result = await runDemoCli(["--funding", "-5"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal("demo: --funding -5 is invalid: use a whole number of eINR from 1 to 1000000000\n");
  });

  it("rejects negative numbers for every numeric option", async function () {
    const cases = [
      { args: ["--devices", "-1", "--data", "x.csv"], stderr: "demo: --devices -1 is invalid: use a whole number of devices from 1 to 50\n" },
      { args: ["--duration", "-30"], stderr: "demo: --duration -30 is invalid: use a whole number of real seconds from 1 to 86400\n" },
      { args: ["--time-scale", "-0.5"], stderr: "demo: --time-scale -0.5 is invalid: use a number of simulated seconds per real second from 1 to 3600\n" },
      { args: ["--funding=-5"], stderr: "demo: --funding -5 is invalid: use a whole number of eINR from 1 to 1000000000\n" },
    ];
    for (const { args, stderr } of cases) {
      const result = await runDemoCli(args);
      expect(result.code, args.join(" ")).to.equal(2);
      expect(result.stderr, args.join(" ")).to.equal(stderr);
    }
  });

  it("rejects an existing file as --run-dir", async function () {
    const result = await runDemoCli(["--run-dir", "README.md"], FAIL_FAST_KILL_REAL_MS);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.equal(
      `demo: --run-dir README.md cannot be used: ${path.join(REPO_ROOT, "README.md")} is a file, not a folder; give a folder you can write to (a missing one is created), or leave out --run-dir to use .demo/<run id>\n`,
    );
  });

  it("rejects a --run-dir that cannot be created", async function () {
    if (process.platform !== "linux") {
      this.skip();
    }
    const result = await runDemoCli(["--run-dir", "/proc/demo-run"], FAIL_FAST_KILL_REAL_MS);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.equal(
      "demo: --run-dir /proc/demo-run cannot be used: creating the folder /proc/demo-run failed with ENOENT; give a folder you can write to (a missing one is created), or leave out --run-dir to use .demo/<run id>\n",
    );
  });

  it("rejects a --run-dir that is not writable", async function () {
    if (process.platform !== "linux") {
      this.skip();
    }
    const result = await runDemoCli(["--run-dir", "/proc"], FAIL_FAST_KILL_REAL_MS);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/^demo: --run-dir \/proc cannot be used: writing a file in \/proc failed with (ENOENT|EACCES); give a folder you can write to/);
  });

  it("rejects an empty --run-dir", async function () {
    const result = await runDemoCli(["--run-dir", ""]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal("demo: --run-dir is empty: give a folder path, or leave out --run-dir to use .demo/<run id>\n");
  });

  it("rejects --devices without --data", async function () {
    const result = await runDemoCli(["--devices", "3"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal("demo: --devices needs --data with a BC Hydro outage CSV\n");
  });

  it("rejects an unknown option", async function () {
    const result = await runDemoCli(["--speed", "3"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("Unknown option '--speed'");
  });

  it("rejects an unknown event id", async function () {
    const result = await runDemoCli(["--data", path.join(REPO_ROOT, "test", "fixtures", "e2e-grace-boundary.csv"), "--events", "123"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('--events: event 123 is not in');
  });

  it("pays a wallet within --duration", async function () {
    const runDir = tempRunDir("cli");
    let deploymentDir: string | undefined;
    try {
      const result = await runDemoCli(["--duration", "45", "--time-scale", "600", "--run-dir", runDir]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
      expect(result.stdout).to.contain("Summary");
      expect(result.stdout).to.contain("Done: --duration 45 s reached");

      const summary = readSummary(runDir);
      deploymentDir = summary.deploymentDir;
      expect(summary.paidWei).to.have.length(6);
      expect(summary.batches).to.be.greaterThan(0);
      expect(summary.paidWei.some((paid) => paid > 0n), "some wallet was paid").to.equal(true);
    } finally {
      removeRun(runDir, deploymentDir);
    }
  });
});
