import { parseArgs } from "node:util";

/** Validated options of `npm run demo`. */
export type DemoOptions = {
  /** Outage file to replay instead of the built-in scenario. */
  dataFile: string | undefined;
  /** Devices in total for a CSV replay. */
  devices: number;
  /** CSV event ids to replay; empty picks the default events. */
  eventIds: string[];
  /** Simulated seconds per real second. */
  timeScale: number;
  /** Real seconds after which the demo stops; undefined runs until the replay is settled. */
  durationRealSeconds: number | undefined;
  /** JSON-RPC URL of a chain to deploy onto; undefined starts a local Hardhat node. */
  rpcUrl: string | undefined;
  /** eINR the board puts into the pool. */
  fundingTokens: bigint;
  /** Folder for the run's logs, keys and databases; undefined makes .demo/<run id>. */
  runDir: string | undefined;
  help: boolean;
};

/** An option that cannot be used; the message names the option, the value and the fix. */
export class DemoOptionError extends Error {
  override readonly name = "DemoOptionError";
}

export const DEFAULT_TIME_SCALE = 120;
export const DEFAULT_DEVICES = 6;
export const DEFAULT_FUNDING_TOKENS = 100_000n;
const MAX_DEVICES = 50;
const MAX_TIME_SCALE = 3_600;

export const HELP_TEXT = `Usage: npm run demo -- [options]

Starts a local chain, deploys Central Electric, funds the pool as the board, registers
devices, starts the oracle node and one device agent per device as separate processes,
and replays power cuts on a fast simulated clock while a live view shows the wallets
being paid. Without --duration it stops once every replayed outage second is settled;
Ctrl-C stops it at any time. Logs go to .demo/<run id>/.

Options:
  --data <file>          replay a BC Hydro outage CSV or an apcupsd events log instead of
                         the built-in load-shedding scenario
  --devices <count>      CSV replay: devices in total, spread over the events, at most as
                         many per event as it had customers out (default ${DEFAULT_DEVICES}, 1 to ${MAX_DEVICES})
  --events <ids>         CSV replay: comma-separated event ids (default: the first 3 events,
                         by start, that ended and lasted 1 to 6 hours)
  --time-scale <x>       simulated seconds per real second (default ${DEFAULT_TIME_SCALE}; 1 is real time;
                         above 1 needs a Hardhat development chain, up to ${MAX_TIME_SCALE})
  --duration <seconds>   stop after this many real seconds and print the summary
  --rpc <url>            deploy onto this running chain (http:// or https://) instead of
                         starting one, and leave it running afterwards
  --funding <eINR>       whole eINR the board mints and puts into the pool (default ${DEFAULT_FUNDING_TOKENS})
  --run-dir <folder>     folder for logs, keys and databases, created if missing
                         (default .demo/<run id>)
  --help                 print this text

Examples:
  npm run demo
  npm run demo -- --data ../shared/data/bchydro-outages-12days.csv --devices 6
  npm run demo -- --time-scale 600 --duration 60
`;

/** Options whose value is a number, so a value such as "-5" is taken as their argument, not as an option. */
const NUMERIC_OPTIONS = new Set(["--devices", "--time-scale", "--duration", "--funding"]);

/**
 * Joins a numeric option and a following negative number into `--option=-5`. Without this,
 * parseArgs reports the value as "ambiguous" instead of the demo reporting the allowed range.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    if (arg === "--") {
      joined.push(...argv.slice(index));
      break;
    }
    const next = argv[index + 1];
    if (NUMERIC_OPTIONS.has(arg) && next !== undefined && /^-[0-9.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      index += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** Parses a whole number from `min` to `max`; `unit` names what is counted, such as "devices". */
function positiveInteger(name: string, raw: string, unit: string, min: number, max: number): number {
  const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DemoOptionError(`--${name} ${raw} is invalid: use a whole number of ${unit} from ${min} to ${max}`);
  }
  return value;
}

/** Parses and validates the command line; throws DemoOptionError naming the option and the fix. */
export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: "string" },
        devices: { type: "string" },
        events: { type: "string" },
        "time-scale": { type: "string" },
        duration: { type: "string" },
        rpc: { type: "string" },
        funding: { type: "string" },
        "run-dir": { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new DemoOptionError(`${error instanceof Error ? error.message : String(error)}; run \`npm run demo -- --help\` for the options`);
  }
  const values = parsed.values;

  let timeScale = DEFAULT_TIME_SCALE;
  if (values["time-scale"] !== undefined) {
    const raw = values["time-scale"];
    timeScale = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(timeScale) || timeScale < 1 || timeScale > MAX_TIME_SCALE) {
      throw new DemoOptionError(`--time-scale ${raw} is invalid: use a number of simulated seconds per real second from 1 to ${MAX_TIME_SCALE}`);
    }
  }

  let rpcUrl: string | undefined;
  if (values.rpc !== undefined) {
    let url: URL;
    try {
      url = new URL(values.rpc);
    } catch {
      throw new DemoOptionError(`--rpc ${values.rpc} is not a URL: use for example http://127.0.0.1:8545`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new DemoOptionError(`--rpc ${values.rpc} is invalid: the scheme must be http: or https:`);
    }
    rpcUrl = values.rpc;
  }

  const eventIds = (values.events ?? "")
    .split(",")
    .map((eventId) => eventId.trim())
    .filter((eventId) => eventId !== "");
  if (values.events !== undefined && eventIds.length === 0) {
    throw new DemoOptionError(`--events ${values.events} is invalid: list event ids separated by commas`);
  }
  if ((values.events !== undefined || values.devices !== undefined) && values.data === undefined) {
    throw new DemoOptionError(`--${values.events !== undefined ? "events" : "devices"} needs --data with a BC Hydro outage CSV`);
  }

  if (values["run-dir"] !== undefined && values["run-dir"].trim() === "") {
    throw new DemoOptionError("--run-dir is empty: give a folder path, or leave out --run-dir to use .demo/<run id>");
  }

  return {
    dataFile: values.data,
    devices: values.devices === undefined ? DEFAULT_DEVICES : positiveInteger("devices", values.devices, "devices", 1, MAX_DEVICES),
    eventIds,
    timeScale,
    durationRealSeconds: values.duration === undefined ? undefined : positiveInteger("duration", values.duration, "real seconds", 1, 86_400),
    rpcUrl,
    fundingTokens: values.funding === undefined ? DEFAULT_FUNDING_TOKENS : BigInt(positiveInteger("funding", values.funding, "eINR", 1, 1_000_000_000)),
    runDir: values["run-dir"],
    help: values.help === true,
  };
}
