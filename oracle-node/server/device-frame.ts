import { decodeUint64 } from "../../protocol/uint64.ts";
import { parseDeviceToServer, type DeviceToServerMessage } from "../../protocol/wire.ts";

/** A deviceId exactly as a connection sent it, with the checksummed address the protocol parser made of it. */
export type KnownDeviceId = { raw: string; address: string };

const DEVICE_MESSAGE_FIELDS = new Set(["type", "deviceId", "second", "seq", "signature"]);
const SIGNATURE_PATTERN = /^0x[0-9a-fA-F]{130}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a device message frame whose deviceId string equals `known.raw`, which the protocol
 * parser already checked and checksummed. That check, a keccak256 per frame, is the costly
 * part of parsing. Returns undefined for any other frame and for any frame this shortcut would
 * decide differently from the protocol parser, so the caller parses it in full.
 */
function parseKnownDeviceMessage(text: string, known: KnownDeviceId): DeviceToServerMessage | undefined {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(record) || record.deviceId !== known.raw) {
    return undefined;
  }

  const type = record.type;
  if (type !== "attestation" && type !== "restoration") {
    return undefined;
  }
  for (const field of Object.keys(record)) {
    if (!DEVICE_MESSAGE_FIELDS.has(field)) {
      return undefined;
    }
  }

  const signature = record.signature;
  if (typeof signature !== "string" || !SIGNATURE_PATTERN.test(signature)) {
    return undefined;
  }
  let second: bigint;
  let seq: bigint;
  try {
    second = decodeUint64(record.second, "second");
    seq = decodeUint64(record.seq, "seq");
  } catch {
    return undefined;
  }
  if (seq === 0n) {
    return undefined;
  }

  return { type, message: { kind: type, deviceId: known.address, second, seq, signature: signature.toLowerCase() } };
}

/**
 * Parses a text frame from a device with the protocol's parser (protocol/wire.ts), taking a
 * shortcut for device messages that repeat the connection's `known` deviceId string. Both
 * ways return the same message for every frame, and only the full parser raises errors.
 */
export function parseDeviceFrame(text: string, known: KnownDeviceId | undefined): DeviceToServerMessage {
  if (known !== undefined) {
    const parsed = parseKnownDeviceMessage(text, known);
    if (parsed !== undefined) {
      return parsed;
    }
  }
  return parseDeviceToServer(text);
}

/** Returns the deviceId string of a frame's JSON, for remembering it after a full parse. */
export function rawDeviceIdOf(text: string): string | undefined {
  try {
    const record: unknown = JSON.parse(text);
    return isRecord(record) && typeof record.deviceId === "string" ? record.deviceId : undefined;
  } catch {
    return undefined;
  }
}
