/**
 * Error codes of the wire protocol. Every rejection a device can receive carries one of
 * these codes; callers and tests compare the code, never the message text.
 *
 * `retryable: false` means final: the device stops re-sending that message. A retryable
 * code means the same message may succeed later (after a reconnect, a wait, or once an
 * earlier seq has arrived).
 */
export const ERROR_CODES = {
  MALFORMED_MESSAGE: { retryable: false, summary: "the message is not valid JSON or does not match the protocol schema" },
  UNSUPPORTED_PROTOCOL_VERSION: { retryable: false, summary: "the peer speaks a protocol version this side does not support" },
  HELLO_REQUIRED: { retryable: false, summary: "the connection must start with a hello answering the server challenge" },
  CHALLENGE_MISMATCH: { retryable: false, summary: "the hello does not answer the challenge this connection was given" },
  NON_CANONICAL_SIGNATURE: { retryable: false, summary: "the signature is not 65 bytes with v of 27 or 28 and low s" },
  BAD_SIGNATURE: { retryable: false, summary: "the signature does not recover to a key of this device" },
  KEY_NOT_VALID_AT_SECOND: { retryable: false, summary: "the signing key is not the device key valid at that second" },
  DEVICE_NOT_REGISTERED: { retryable: false, summary: "the device is not in the registry" },
  DEVICE_REGISTRATION_PENDING: { retryable: true, summary: "the device registration is on chain but still waiting for confirmations" },
  DEVICE_REVOKED: { retryable: false, summary: "the device was revoked by the board" },
  DEVICE_MISMATCH: { retryable: false, summary: "the message names another device than the one that said hello" },
  SECOND_IN_FUTURE: { retryable: true, summary: "the second is later than the server clock allows" },
  SECOND_TOO_OLD: { retryable: false, summary: "the second is older than the maximum back-fill age" },
  SECOND_OUT_OF_ORDER: { retryable: false, summary: "the second is not after the device's previous attested second" },
  SECOND_ALREADY_SETTLED: { retryable: false, summary: "the second was already settled on chain" },
  SEQ_GAP: { retryable: true, summary: "an earlier seq has not arrived yet; send the missing seqs first" },
  SEQ_REPLAYED: { retryable: false, summary: "this seq was already accepted with other content" },
  RATE_LIMITED: { retryable: true, summary: "the connection sent more messages than its rate limit allows" },
  STORE_UNAVAILABLE: { retryable: true, summary: "the server could not store the message durably" },
  INTERNAL_ERROR: { retryable: true, summary: "the server failed while handling the message" },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorDetails = Record<string, string | number | boolean | null>;

/** Reports whether `value` is one of the protocol's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** Reports whether a device may re-send a message that was rejected with `code`. */
export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retryable;
}

/**
 * The one error type of the protocol: a stable code, whether it is final, a message for
 * people, and the values that explain the failure.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].summary, options);
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = details;
  }
}
