import type { EventField, EventRow } from "./event-query.ts";
import { formatUnixSecond } from "./value-format.ts";

/** Output formats of the events task. */
export type EventFormat = "table" | "json" | "csv";

/** Formats rows as an aligned text table with one line per event and its arguments as name=value. */
export function renderTable(rows: readonly EventRow[]): string {
  if (rows.length === 0) {
    return "no events\n";
  }
  const header = ["BLOCK", "TIME", "CONTRACT", "EVENT", "ARGUMENTS"];
  const lines = rows.map((row) => [
    String(row.blockNumber),
    formatUnixSecond(row.blockTimestamp),
    row.contract,
    row.event,
    row.fields.map((field) => `${field.name}=${field.display}`).join(" "),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ").trimEnd();
  return `${[header, ...lines].map(format).join("\n")}\n`;
}

function formattedValue(field: EventField): string | undefined {
  switch (field.kind) {
    case "amount":
      return field.tokens;
    case "feeder":
      return field.text;
    case "second":
      return formatUnixSecond(BigInt(String(field.value)));
    case "tiers":
    case "skipReason":
      return field.display;
    default:
      return undefined;
  }
}

/**
 * Formats rows as a JSON array. `args` contains exact values, with integers as decimal strings so
 * no precision is lost. `formatted` adds whole-token amounts, feeder text and ISO times.
 */
export function renderJson(rows: readonly EventRow[]): string {
  const objects = rows.map((row) => {
    const args: Record<string, EventField["value"]> = {};
    const formatted: Record<string, string> = {};
    for (const field of row.fields) {
      args[field.name] = field.value;
      const text = formattedValue(field);
      if (text !== undefined) {
        formatted[field.name] = text;
      }
    }
    return {
      blockNumber: row.blockNumber,
      blockTimestamp: row.blockTimestamp,
      time: formatUnixSecond(row.blockTimestamp),
      transactionHash: row.transactionHash,
      logIndex: row.logIndex,
      contract: row.contract,
      address: row.address,
      event: row.event,
      args,
      formatted,
    };
  });
  return `${JSON.stringify(objects, null, 2)}\n`;
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvValue(value: EventField["value"]): string {
  if (typeof value === "string") {
    return value;
  }
  if (value.every((item) => typeof item === "string")) {
    return value.join(" ");
  }
  return value.map((item) => (typeof item === "string" ? item : `${item.startOffsetSeconds}:${item.ratePerHour}`)).join(" ");
}

/**
 * Formats rows as CSV (RFC 4180). The columns are the log's position, then every argument name
 * in order of first occurrence. Amounts get an extra `<name>_tokens` column and feeder ids an
 * extra `<name>_text` column. Arguments that an event does not have stay empty.
 */
export function renderCsv(rows: readonly EventRow[]): string {
  const base = ["block", "timestamp", "time", "transaction", "log_index", "contract", "address", "event"];
  const argumentColumns: string[] = [];
  for (const row of rows) {
    for (const field of row.fields) {
      const columns = field.kind === "amount" ? [field.name, `${field.name}_tokens`] : field.kind === "feeder" ? [field.name, `${field.name}_text`] : [field.name];
      for (const column of columns) {
        if (!argumentColumns.includes(column)) {
          argumentColumns.push(column);
        }
      }
    }
  }
  const lines = rows.map((row) => {
    const cells = new Map<string, string>();
    for (const field of row.fields) {
      cells.set(field.name, csvValue(field.value));
      if (field.kind === "amount") {
        cells.set(`${field.name}_tokens`, field.tokens ?? "");
      }
      if (field.kind === "feeder") {
        cells.set(`${field.name}_text`, field.text ?? "");
      }
    }
    const baseCells = [
      String(row.blockNumber),
      String(row.blockTimestamp),
      formatUnixSecond(row.blockTimestamp),
      row.transactionHash,
      String(row.logIndex),
      row.contract,
      row.address,
      row.event,
    ];
    return [...baseCells, ...argumentColumns.map((column) => cells.get(column) ?? "")].map(csvCell).join(",");
  });
  return `${[[...base, ...argumentColumns].join(","), ...lines].join("\r\n")}\r\n`;
}
