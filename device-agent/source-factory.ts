import type { SimClock } from "../protocol/clock.ts";
import { AgentError } from "./agent-error.ts";
import type { AgentStore } from "./agent-store.ts";
import type { ReplaySettings, SourceConfig } from "./run-config.ts";
import { DebouncedSource, confirmOutages } from "./sources/debounce.ts";
import type { PowerSource, SourceClock } from "./sources/power-source.ts";
import { ReplaySource } from "./sources/replay.ts";

/**
 * Returns the run start of a replay: the configured one, or the one stored by the first
 * run, so a replay restarted after a crash continues on the same timeline.
 */
function replayRunStart(settings: { runStartSecond: number | undefined }, store: AgentStore, clock: SimClock): number {
  if (settings.runStartSecond !== undefined) {
    return settings.runStartSecond;
  }
  const stored = store.getMeta("replay_run_start_second");
  if (stored !== undefined) {
    return Number(stored);
  }
  const runStartSecond = clock.nowSeconds();
  store.setMeta("replay_run_start_second", String(runStartSecond));
  return runStartSecond;
}

function replayOptions(settings: ReplaySettings, store: AgentStore, clock: SimClock): { startOffsetSimSeconds: number | undefined; runStartSecond: number } {
  return { startOffsetSimSeconds: settings.startOffsetSimSeconds, runStartSecond: replayRunStart(settings, store, clock) };
}

/** Runs `load`, turning a file that cannot be read into INVALID_CONFIG naming the option. */
async function readSourceFile<T>(option: string, file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof Error && "code" in error && typeof error.code === "string" && error.code.startsWith("E")) {
      throw new AgentError("INVALID_CONFIG", `--${option} ${file} cannot be read (${error.code}): pass the path of an existing, readable file`, { option, file }, { cause: error });
    }
    throw error;
  }
}

/**
 * Builds the configured power source on the agent's clock. Live sources (sysfs, NUT) are
 * wrapped in the debouncer. Replays drop short outages before replaying them, because the
 * debouncer cannot judge late timers at a high clock scale. A confirmed outage keeps its
 * original start either way, so its first seconds are attested too. Each source module is
 * loaded only when configured.
 */
export async function createPowerSource(config: SourceConfig, debounceSimSeconds: number, clock: SimClock, store: AgentStore): Promise<PowerSource> {
  const sourceClock: SourceClock = { now: () => clock.nowMs(), scale: clock.definition.scale };
  switch (config.kind) {
    case "sysfs": {
      const { SysfsSource } = await import("./sources/sysfs.ts");
      const source = new SysfsSource({ ...sourceClock, root: config.root, pollIntervalRealMs: config.pollIntervalRealMs });
      return debounceSimSeconds > 0 ? new DebouncedSource(source, { ...sourceClock, minOffSimSeconds: debounceSimSeconds }) : source;
    }
    case "nut": {
      const { NutSource } = await import("./sources/nut.ts");
      const source = new NutSource({ ...sourceClock, upsName: config.upsName, host: config.host, port: config.port, pollIntervalRealMs: config.pollIntervalRealMs });
      return debounceSimSeconds > 0 ? new DebouncedSource(source, { ...sourceClock, minOffSimSeconds: debounceSimSeconds }) : source;
    }
    case "apcupsd-log": {
      const { createApcupsdLogSource } = await import("./sources/apcupsd-log.ts");
      return readSourceFile("apcupsd-log", config.path, () =>
        createApcupsdLogSource({ ...sourceClock, path: config.path, minOffSimSeconds: debounceSimSeconds, ...replayOptions(config.replay, store, clock) }),
      );
    }
    case "outage-csv": {
      const { findOutageEvent, loadOutageEvents, outageIntervalOf } = await import("./sources/outage-csv.ts");
      const event = findOutageEvent(await readSourceFile("outage-csv", config.path, () => loadOutageEvents(config.path)), config.eventId);
      return new ReplaySource({
        ...sourceClock,
        name: `outage-csv:${event.id}`,
        outages: confirmOutages([outageIntervalOf(event)], debounceSimSeconds),
        ...replayOptions(config.replay, store, clock),
      });
    }
    case "schedule": {
      const { createScheduleSource } = await import("./sources/schedule.ts");
      return createScheduleSource({ ...sourceClock, schedule: config.schedule, runStartSecond: config.runStartSecond });
    }
    case "outages": {
      const outages = confirmOutages(config.outages, debounceSimSeconds);
      const { runStartSecond } = replayOptions(config.replay, store, clock);
      // The listed starts are offsets from the run start, so the first one is the replay's start offset.
      return new ReplaySource({ ...sourceClock, name: "outages", outages, startOffsetSimSeconds: outages[0]?.startSecond ?? 0, runStartSecond });
    }
  }
}
