import os from "node:os";

/** One benchmark's part of docs/benchmarks.md. */
export type BenchmarkSection = {
  title: string;
  /** The command that reproduces this section alone. */
  command: string;
  /** Method: the measurement and how it was taken, in a sentence or two. */
  method: string;
  table: { header: string[]; rows: string[][] };
  /** Each target with the measured value and whether it was met. */
  targets: Array<{ target: string; measured: string; met: boolean }>;
  notes?: string[];
};

/** Describes the machine a benchmark ran on, for the record. */
export function describeMachine(): string[] {
  const cpus = os.cpus();
  const model = cpus[0]?.model ?? "unknown CPU";
  return [
    `CPU: ${model}, ${cpus.length} logical cores`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `Node.js: ${process.version}`,
  ];
}

function markdownTable(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) {
    lines.push(`| ${row.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Renders the benchmark record page. */
export function renderBenchmarksPage(sections: BenchmarkSection[], failures: Array<{ title: string; error: string }>, date: Date): string {
  const parts: string[] = [
    "# Benchmarks",
    "",
    "Written by `npm run bench`, which runs every benchmark of the project in one run and",
    "replaces this page. Figures come from that one run on the machine below; they are",
    "measurements, not guarantees, and vary from run to run by a few percent.",
    "",
    `Run: ${date.toISOString()}`,
    "",
    ...describeMachine().map((line) => `- ${line}`),
    "",
  ];
  for (const section of sections) {
    parts.push(`## ${section.title}`, "", `Command: \`${section.command}\``, "", section.method, "");
    parts.push(markdownTable(section.table.header, section.table.rows), "");
    if (section.targets.length > 0) {
      parts.push(
        markdownTable(
          ["target", "measured", "met"],
          section.targets.map((target) => [target.target, target.measured, target.met ? "yes" : "**no**"]),
        ),
        "",
      );
    }
    for (const note of section.notes ?? []) {
      parts.push(note, "");
    }
  }
  if (failures.length > 0) {
    parts.push("## Benchmarks that failed in this run", "");
    for (const failure of failures) {
      parts.push(`- ${failure.title}: ${failure.error}`);
    }
    parts.push("");
  }
  return parts.join("\n");
}
