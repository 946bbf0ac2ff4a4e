// Runs every benchmark of the project in one run and rewrites docs/benchmarks.md.
// Usage: npm run bench
import { writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { renderBenchmarksPage, type BenchmarkSection } from "./report.ts";
import { runDeviceAgentBenchmark, type DeviceAgentBenchmark } from "./device-agent.ts";
import { runGasBenchmark, type GasResult } from "./gas.ts";
import { runOracleBenchmarks, type OracleBenchmarkResult } from "./oracle-ingest.ts";

const GAS_TARGET_PER_ENTRY = 12_000n;

function gasSection(results: GasResult[]): BenchmarkSection {
  const at500 = results.filter((result) => result.entries === 500);
  const worst = at500.reduce((max, result) => (result.gasPerEntry > max ? result.gasPerEntry : max), 0n);
  return {
    title: "Gas per settled entry",
    command: "node scripts/bench/gas.ts",
    method:
      "One settle() transaction per row on an in-process Hardhat network (cancun). Every entry belongs to a " +
      "distinct registered device whose wallet already holds tokens and whose outage is already past the unpaid " +
      "first hour, so each entry pays with one token transfer. Gas per entry is the transaction's gas used " +
      "divided by its entries, base cost and signature checks included.",
    table: {
      header: ["entries", "signatures", "gas used", "gas per entry"],
      rows: results.map((result) => [
        String(result.entries),
        String(result.signatures),
        result.gasUsed.toLocaleString("en-US"),
        result.gasPerEntry.toLocaleString("en-US"),
      ]),
    },
    targets: [
      {
        target: `at most ${GAS_TARGET_PER_ENTRY.toLocaleString("en-US")} gas per entry at 500 entries`,
        measured: worst.toLocaleString("en-US"),
        met: worst <= GAS_TARGET_PER_ENTRY,
      },
    ],
  };
}

function deviceAgentSection(result: DeviceAgentBenchmark): BenchmarkSection {
  const settings = Object.entries(result.nodeSettings)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
  return {
    title: "Device agent at 1 attestation per second",
    command: "node scripts/bench/device-agent.ts",
    method:
      `A real agent process signs one attestation per second for a ${result.measuredRealSeconds.toFixed(0)} s window ` +
      "against a WebSocket server on 127.0.0.1; CPU and memory are read from /proc. The baseline beside it is the " +
      `same agent with Node's default settings. Node settings of the measured run: ${settings || "none"}.`,
    table: {
      header: ["measure", "value"],
      rows: [
        ["attestations accepted in the window", String(result.attestationsInWindow)],
        ["resident memory (VmRSS)", `${result.rssMiB.toFixed(1)} MiB`],
        ["peak resident memory (VmHWM)", `${result.peakRssMiB.toFixed(1)} MiB`],
        ["private resident memory (RssAnon)", `${result.privateRssMiB.toFixed(1)} MiB`],
        ["baseline: resident memory with Node defaults", `${result.defaultSettingsRssMiB.toFixed(1)} MiB`],
        ["CPU, share of one core", `${result.cpuPercentOfOneCore.toFixed(2)} %`],
        ["signing rate on one core", `${Math.round(result.signaturesPerSecond).toLocaleString("en-US")} signatures/s`],
      ],
    },
    targets: [
      { target: `at most ${result.targets.maxRssMiB} MiB resident`, measured: `${result.rssMiB.toFixed(1)} MiB`, met: result.rssMiB <= result.targets.maxRssMiB },
      {
        target: `under ${result.targets.maxCpuPercent} % of one core`,
        measured: `${result.cpuPercentOfOneCore.toFixed(2)} %`,
        met: result.cpuPercentOfOneCore < result.targets.maxCpuPercent,
      },
    ],
  };
}

function oracleSection(result: OracleBenchmarkResult): BenchmarkSection {
  const { ingest, latency, memory, targets } = result;
  return {
    title: "Oracle node: ingest, settlement latency, idle connections",
    command: "node scripts/bench/oracle-ingest.ts",
    method:
      `Ingest: a load-generating process on 127.0.0.1 pre-signs ${ingest.messages.toLocaleString("en-US")} attestations ` +
      `for ${ingest.connections} devices, then sends them over real WebSocket connections; a message counts once it is ` +
      `verified (${ingest.verifyWorkers} verification threads, native libsecp256k1) and committed to SQLite and its ` +
      "acknowledgement arrived. The baseline beside it verifies the same attestations with ethers' verifyTypedData on " +
      `one thread in the same run. Latency: from sending an attestation to the block that settles it, with ` +
      `${latency.batchWindowRealMs} ms batches on a local automining chain. Memory: the oracle process's resident ` +
      `memory with ${memory.idleConnections.toLocaleString("en-US")} idle device connections (open-file limit ` +
      `${memory.openFileLimit.toLocaleString("en-US")}).`,
    table: {
      header: ["measure", "value"],
      rows: [
        ["ingest, attestations verified and committed per second", Math.round(ingest.perSecond).toLocaleString("en-US")],
        ["baseline: ethers verifyTypedData per second", Math.round(ingest.baselinePerSecond).toLocaleString("en-US")],
        ["speed-up over the baseline", `${ingest.speedup.toFixed(1)}x`],
        ["messages rejected during the run", String(ingest.errors)],
        ["settlement latency p50", `${Math.round(latency.p50Ms)} ms (${latency.samples} samples)`],
        ["settlement latency p95", `${Math.round(latency.p95Ms)} ms`],
        ["resident memory before connections", `${memory.rssBeforeMiB.toFixed(0)} MiB`],
        [`resident memory, ${memory.idleConnections.toLocaleString("en-US")} idle connections`, `${memory.rssMiB.toFixed(0)} MiB`],
      ],
    },
    targets: [
      {
        target: `at least ${targets.ingestPerSecond.toLocaleString("en-US")} attestations per second`,
        measured: Math.round(ingest.perSecond).toLocaleString("en-US"),
        met: ingest.perSecond >= targets.ingestPerSecond,
      },
      { target: `at least ${targets.speedup}x the baseline`, measured: `${ingest.speedup.toFixed(1)}x`, met: ingest.speedup >= targets.speedup },
      {
        target: `settlement latency p95 at most ${targets.latencyP95Ms} ms`,
        measured: `${Math.round(latency.p95Ms)} ms`,
        met: latency.p95Ms <= targets.latencyP95Ms,
      },
      {
        target: `at most ${targets.rssMiB} MiB with ${memory.idleConnections.toLocaleString("en-US")} idle connections`,
        measured: `${memory.rssMiB.toFixed(0)} MiB`,
        met: memory.rssMiB <= targets.rssMiB,
      },
    ],
  };
}

type Benchmark = { title: string; run: () => Promise<BenchmarkSection> };

const benchmarks: Benchmark[] = [
  { title: "Gas per settled entry", run: async () => gasSection(await runGasBenchmark()) },
  { title: "Device agent at 1 attestation per second", run: async () => deviceAgentSection(await runDeviceAgentBenchmark()) },
  { title: "Oracle node", run: async () => oracleSection(await runOracleBenchmarks()) },
];

const sections: BenchmarkSection[] = [];
const failures: Array<{ title: string; error: string }> = [];
for (const benchmark of benchmarks) {
  console.log(`bench: running ${benchmark.title}`);
  try {
    sections.push(await benchmark.run());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`bench: ${benchmark.title} failed: ${message}`);
    failures.push({ title: benchmark.title, error: message });
  }
}

const page = renderBenchmarksPage(sections, failures, new Date());
const file = path.join(PROJECT_ROOT, "docs", "benchmarks.md");
writeFileSync(file, page);
console.log(`bench: wrote ${file}`);
process.exitCode = failures.length > 0 ? 1 : 0;
