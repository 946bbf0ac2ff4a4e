import { getAddress, isAddress } from "ethers";
import { ERROR_CODES, ProtocolError, isErrorCode, type ErrorCode, type ErrorDetails } from "./errors.ts";
import { decodeUint64, encodeUint64 } from "./uint64.ts";
import type { SignedDeviceMessage } from "./device-message.ts";

/** Version of the wire protocol; the server announces it in its challenge. */
export const PROTOCOL_VERSION = 1;

/** Largest frame either side accepts, in bytes. A device message is about 300 bytes. */
export const MAX_FRAME_BYTES = 4096;

export type ChallengeMessage = { type: "challenge"; protocolVersion: number; challenge: string };
export type HelloMessage = { type: "hello"; deviceId: string; challenge: string; signature: string };
export type WelcomeMessage = { type: "welcome"; deviceId: string; lastSeq: bigint };
export type DeviceMessageFrame = { type: "attestation" | "restoration"; message: SignedDeviceMessage };
export type AckMessage = { type: "ack"; seq: bigint };
export type ErrorMessage = {
  type: "error";
  code: ErrorCode;
  retryable: boolean;
  message: string;
  seq?: bigint;
  details?: ErrorDetails;
};

/** Messages a device sends to the oracle node. */
export type DeviceToServerMessage = HelloMessage | DeviceMessageFrame;
/** Messages the oracle node sends to a device. */
export type ServerToDeviceMessage = ChallengeMessage | WelcomeMessage | AckMessage | ErrorMessage;

const BYTES32_PATTERN = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE_PATTERN = /^0x[0-9a-fA-F]{130}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function malformed(message: string, details: ErrorDetails = {}): ProtocolError {
  return new ProtocolError("MALFORMED_MESSAGE", message, details);
}

function parseJsonObject(frame: unknown): Record<string, unknown> {
  let text: string;
  if (typeof frame === "string") {
    text = frame;
  } else if (frame instanceof Uint8Array) {
    text = Buffer.from(frame).toString("utf8");
  } else {
    throw malformed("frame must be a UTF-8 JSON text");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed("frame is not valid JSON");
  }
  if (!isRecord(value)) {
    throw malformed("frame must be a JSON object");
  }
  return value;
}

function requireAddress(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== "string" || !isAddress(value) || !value.startsWith("0x")) {
    throw malformed(`${field} must be a 0x-prefixed 20-byte address`, { field });
  }
  try {
    return getAddress(value);
  } catch {
    throw malformed(`${field} has an invalid checksum`, { field });
  }
}

function requireHex(record: Record<string, unknown>, field: string, pattern: RegExp, what: string): string {
  const value = record[field];
  if (typeof value !== "string" || !pattern.test(value)) {
    throw malformed(`${field} must be ${what}`, { field });
  }
  return value.toLowerCase();
}

function rejectUnknownFields(record: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw malformed(`unexpected field ${key}`, { field: key });
    }
  }
}

/**
 * Parses a frame received by the oracle node. Everything is `unknown` until checked here;
 * a frame that fails any check raises MALFORMED_MESSAGE naming the field. Signatures are
 * checked for shape only: canonical form and signer are checked by the verifier.
 */
export function parseDeviceToServer(frame: unknown): DeviceToServerMessage {
  const record = parseJsonObject(frame);
  switch (record.type) {
    case "hello": {
      rejectUnknownFields(record, ["type", "deviceId", "challenge", "signature"]);
      return {
        type: "hello",
        deviceId: requireAddress(record, "deviceId"),
        challenge: requireHex(record, "challenge", BYTES32_PATTERN, "32 bytes of 0x-prefixed hex"),
        signature: requireHex(record, "signature", SIGNATURE_PATTERN, "65 bytes of 0x-prefixed hex"),
      };
    }
    case "attestation":
    case "restoration": {
      rejectUnknownFields(record, ["type", "deviceId", "second", "seq", "signature"]);
      const message: SignedDeviceMessage = {
        kind: record.type,
        deviceId: requireAddress(record, "deviceId"),
        second: decodeUint64(record.second, "second"),
        seq: decodeUint64(record.seq, "seq"),
        signature: requireHex(record, "signature", SIGNATURE_PATTERN, "65 bytes of 0x-prefixed hex"),
      };
      if (message.seq === 0n) {
        throw malformed("seq starts at 1", { field: "seq" });
      }
      return { type: record.type, message };
    }
    default:
      throw malformed(`unknown message type ${JSON.stringify(record.type) ?? "undefined"}`, { field: "type" });
  }
}

/** Parses a frame received by a device agent; raises MALFORMED_MESSAGE like the server side. */
export function parseServerToDevice(frame: unknown): ServerToDeviceMessage {
  const record = parseJsonObject(frame);
  switch (record.type) {
    case "challenge": {
      const version = record.protocolVersion;
      if (typeof version !== "number" || !Number.isSafeInteger(version)) {
        throw malformed("protocolVersion must be an integer", { field: "protocolVersion" });
      }
      if (version !== PROTOCOL_VERSION) {
        throw new ProtocolError("UNSUPPORTED_PROTOCOL_VERSION", `server speaks protocol ${version}, this side ${PROTOCOL_VERSION}`, { protocolVersion: version });
      }
      return { type: "challenge", protocolVersion: version, challenge: requireHex(record, "challenge", BYTES32_PATTERN, "32 bytes of 0x-prefixed hex") };
    }
    case "welcome":
      return { type: "welcome", deviceId: requireAddress(record, "deviceId"), lastSeq: decodeUint64(record.lastSeq, "lastSeq") };
    case "ack":
      return { type: "ack", seq: decodeUint64(record.seq, "seq") };
    case "error": {
      if (!isErrorCode(record.code)) {
        throw malformed(`unknown error code ${JSON.stringify(record.code) ?? "undefined"}`, { field: "code" });
      }
      const message: ErrorMessage = {
        type: "error",
        code: record.code,
        retryable: ERROR_CODES[record.code].retryable,
        message: typeof record.message === "string" ? record.message : ERROR_CODES[record.code].summary,
      };
      if (record.seq !== undefined) {
        message.seq = decodeUint64(record.seq, "seq");
      }
      if (isRecord(record.details)) {
        const details: ErrorDetails = {};
        for (const [key, value] of Object.entries(record.details)) {
          if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
            details[key] = value;
          }
        }
        message.details = details;
      }
      return message;
    }
    default:
      throw malformed(`unknown message type ${JSON.stringify(record.type) ?? "undefined"}`, { field: "type" });
  }
}

/** Serialises a device-to-server message as one JSON text frame. */
export function encodeDeviceToServer(message: DeviceToServerMessage): string {
  if (message.type === "hello") {
    return JSON.stringify(message);
  }
  const { deviceId, second, seq, signature } = message.message;
  return JSON.stringify({ type: message.type, deviceId, second: encodeUint64(second), seq: encodeUint64(seq), signature });
}

/** Serialises a server-to-device message as one JSON text frame. */
export function encodeServerToDevice(message: ServerToDeviceMessage): string {
  switch (message.type) {
    case "challenge":
      return JSON.stringify(message);
    case "welcome":
      return JSON.stringify({ type: "welcome", deviceId: message.deviceId, lastSeq: encodeUint64(message.lastSeq) });
    case "ack":
      return JSON.stringify({ type: "ack", seq: encodeUint64(message.seq) });
    case "error": {
      const out: Record<string, unknown> = { type: "error", code: message.code, retryable: message.retryable, message: message.message };
      if (message.seq !== undefined) {
        out.seq = encodeUint64(message.seq);
      }
      if (message.details !== undefined) {
        out.details = message.details;
      }
      return JSON.stringify(out);
    }
  }
}

/** Builds the error frame for a ProtocolError, optionally tied to the seq it rejects. */
export function errorMessageFrom(error: ProtocolError, seq?: bigint): ErrorMessage {
  const message: ErrorMessage = { type: "error", code: error.code, retryable: error.retryable, message: error.message };
  if (seq !== undefined) {
    message.seq = seq;
  }
  if (Object.keys(error.details).length > 0) {
    message.details = error.details;
  }
  return message;
}
