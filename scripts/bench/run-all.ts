// Runs every benchmark of the project in one run and rewrites docs/benchmarks.md.
// Usage: npm run bench
import { writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { renderBenchmarksPage, type BenchmarkSection } from "./report.ts";
import { runGasBenchmark, type GasResult } from "./gas.ts";

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

type Benchmark = { title: string; run: () => Promise<BenchmarkSection> };

const benchmarks: Benchmark[] = [{ title: "Gas per settled entry", run: async () => gasSection(await runGasBenchmark()) }];

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
