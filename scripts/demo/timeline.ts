import { mergeOutages } from "../../device-agent/sources/replay.ts";
import type { OutageInterval } from "../../device-agent/sources/power-source.ts";

/** Quiet stretches longer than this many seconds are shortened to it. Well above the pool's 300-second merge gap. */
export const DEFAULT_MAX_QUIET_SECONDS = 1_800;

/** A stretch of data time that replays unchanged, moved by `offsetSeconds` onto the simulated clock. */
export type TimelineSegment = {
  /** First data second of the stretch. */
  dataStartSecond: number;
  /** Data second just after the stretch. */
  dataEndSecond: number;
  /** Simulated second = data second + offsetSeconds inside the stretch. */
  offsetSeconds: number;
};

export type ReplayTimeline = {
  /** Per device, its outages moved onto the simulated clock, in the order of the input. */
  shifted: OutageInterval[][];
  /** Stretches of data time with outages, in order; the quiet time between them is shortened. */
  segments: TimelineSegment[];
  /** Quiet data seconds removed from the replay. */
  skippedSeconds: number;
};

/**
 * Moves the outages of several devices onto the simulated clock so that the first one starts
 * at `firstSimSecond`, and shortens every stretch in which no device is off to at most
 * `maxQuietSeconds`. Outages that overlap in data time still overlap and keep their length.
 * A gap between two outages of one device either stays as it was or becomes
 * `maxQuietSeconds` long. So while `maxQuietSeconds` is at least the pool's merge gap, the
 * pool merges exactly the runs it would merge in the original data.
 */
export function compressTimeline(outagesPerDevice: readonly (readonly OutageInterval[])[], firstSimSecond: number, maxQuietSeconds: number = DEFAULT_MAX_QUIET_SECONDS): ReplayTimeline {
  if (!(Number.isSafeInteger(maxQuietSeconds) && maxQuietSeconds >= 0)) {
    throw new RangeError(`maxQuietSeconds ${maxQuietSeconds} must be a whole number of seconds, 0 or more`);
  }
  const busy = mergeOutages(outagesPerDevice.flat().map((outage) => ({ ...outage, open: false, planned: false })));
  const segments: TimelineSegment[] = [];
  let offsetSeconds = 0;
  let skippedSeconds = 0;

  for (const [index, stretch] of busy.entries()) {
    const previous = busy[index - 1];
    if (previous === undefined) {
      offsetSeconds = firstSimSecond - stretch.startSecond;
    } else {
      const quietSeconds = stretch.startSecond - previous.endSecond;
      if (quietSeconds > maxQuietSeconds) {
        offsetSeconds -= quietSeconds - maxQuietSeconds;
        skippedSeconds += quietSeconds - maxQuietSeconds;
      }
    }
    segments.push({ dataStartSecond: stretch.startSecond, dataEndSecond: stretch.endSecond, offsetSeconds });
  }

  const offsetOf = (outage: OutageInterval): number => {
    const segment = segments.find((candidate) => outage.startSecond >= candidate.dataStartSecond && outage.startSecond < Math.max(candidate.dataEndSecond, candidate.dataStartSecond + 1));
    if (segment === undefined) {
      throw new Error(`outage starting at ${outage.startSecond} lies in no stretch of the timeline`);
    }
    return segment.offsetSeconds;
  };
  const shifted = outagesPerDevice.map((outages) =>
    outages.map((outage) => {
      const offset = offsetOf(outage);
      return { ...outage, startSecond: outage.startSecond + offset, endSecond: outage.endSecond + offset };
    }),
  );
  return { shifted, segments, skippedSeconds };
}

/**
 * Returns the data second shown at simulated second `simSecond`. Inside a stretch, and in
 * the kept part of the quiet time after it, data time runs with the simulated clock. It
 * jumps over the part of a quiet stretch that was cut. Before the first outage it counts
 * back from the first stretch.
 */
export function dataSecondAt(timeline: ReplayTimeline, simSecond: number): number {
  let offsetSeconds = timeline.segments[0]?.offsetSeconds ?? 0;
  for (const segment of timeline.segments) {
    if (simSecond >= segment.dataStartSecond + segment.offsetSeconds) {
      offsetSeconds = segment.offsetSeconds;
    }
  }
  return simSecond - offsetSeconds;
}
