/** Stable codes of `AgentError`; callers and tests compare the code, never the message. */
export const AGENT_ERROR_CODES = [
  "INVALID_CONFIG",
  "PASSWORD_MISSING",
  "KEYSTORE_NOT_FOUND",
  "KEYSTORE_EXISTS",
  "KEYSTORE_INVALID",
  "WRONG_PASSWORD",
  "KEYSTORE_LOCKED",
  "INVALID_ROTATION",
  "STATE_NOT_FOUND",
  "DATA_DIR_DOMAIN_MISMATCH",
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export type AgentErrorDetails = Record<string, string | number | boolean | null>;

/** The one error type of the device agent: a stable code, a message that names the value and the fix, and the values involved. */
export class AgentError extends Error {
  override readonly name = "AgentError";
  readonly code: AgentErrorCode;
  readonly details: AgentErrorDetails;

  constructor(code: AgentErrorCode, message: string, details: AgentErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}
