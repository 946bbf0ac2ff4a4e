import type { OutageInterval } from "../../device-agent/sources/power-source.ts";

/** Source from which a device agent reads the outages it replays. */
export type AgentSource =
  /** The agent replays an explicit list of outages (`--source outages`). */
  | { kind: "outages" }
  /** The agent replays one event of a BC Hydro outage CSV itself (`--source outage-csv`). */
  | { kind: "outage-csv"; path: string; eventId: string };

/** One simulated home: its feeder, its outages in the data's own unix seconds and how its agent reads them. */
export type DevicePlan = {
  /** Short name shown in the view and used for the device's folder, such as "urban-1". */
  label: string;
  /** Human-readable feeder name; the feeder id on chain is its keccak256 hash. */
  feederName: string;
  /** Outages in the data's unix seconds, sorted, not overlapping, as the agent confirms them. */
  outages: OutageInterval[];
  source: AgentSource;
};

/** Outages that replay together on one compressed timeline, such as the feeders of one scenario or one data file. */
export type ReplayGroup = {
  /** Title of the replay in the view, such as "BC Hydro outage CSV <file>". */
  title: string;
  /** IANA time zone used to show the data's own local time. */
  timeZone: string;
  devices: DevicePlan[];
  /** Facts about the data the view prints once, such as outages that pay nothing. */
  notes: string[];
};
