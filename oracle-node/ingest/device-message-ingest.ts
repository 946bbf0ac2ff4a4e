import { getAddress } from "ethers";
import type { SimClock } from "../../protocol/clock.ts";
import type { SignedDeviceMessage } from "../../protocol/device-message.ts";
import { ProtocolError, isErrorCode, type ErrorCode } from "../../protocol/errors.ts";
import type { CanonicalSignature } from "../../protocol/signature.ts";
import type { Logger } from "../logger.ts";
import type { OracleMetrics } from "../metrics.ts";
import type { MessageStore, MessageRecord } from "../store/message-store.ts";
import { keyValidAt, type MirroredDevice, type RegistryStore } from "../store/registry-store.ts";
import { splitCanonicalSignature } from "../verify/canonical-signature.ts";
import type { VerifierPool } from "../verify/verifier-pool.ts";
import type { GroupCommitter } from "./group-commit.ts";

/** Reads the registry on chain, for devices and keys the confirmed mirror has not seen yet. */
export type RegistryLookup = {
  /** Returns whether `deviceId` is registered on chain at the latest block. */
  isRegisteredOnChain(deviceId: string): Promise<boolean>;
  /** Returns the key of `deviceId` valid at `second` on chain at the latest block (zero address when none). */
  keyValidAtOnChain(deviceId: string, second: bigint): Promise<string>;
};

export type IngestOptions = {
  registry: RegistryStore;
  messages: MessageStore;
  committer: GroupCommitter;
  verifier: VerifierPool;
  lookup: RegistryLookup;
  clock: SimClock;
  /** Oldest second accepted, as an age on the protocol clock. */
  maxBackfillAgeSimSeconds: number;
  /** How far past the protocol clock a second may be. */
  futureSkewSimSeconds: number;
  logger: Logger;
  metrics: OracleMetrics;
};

/** The reply the server sends for one message. */
export type IngestOutcome = { kind: "ack"; seq: bigint } | { kind: "error"; error: ProtocolError; seq: bigint };

/**
 * A message whose signature check has started. `decide` must run in receive order per
 * connection; it resolves once the message is decided, with `outcome`, which settles after
 * the message's group commit. The next message can be decided before that commit.
 */
export type StartedMessage = { decide: () => Promise<{ outcome: Promise<IngestOutcome> }> };

function settled(outcome: IngestOutcome): { outcome: Promise<IngestOutcome> } {
  return { outcome: Promise.resolve(outcome) };
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

function statusOf(message: SignedDeviceMessage, rejection: ProtocolError | undefined): MessageRecord["status"] {
  if (rejection !== undefined) {
    return "rejected";
  }
  return message.kind === "attestation" ? "accepted" : "noted";
}

function sameContent(record: { kind: string; second: number; signature: string }, message: SignedDeviceMessage): boolean {
  return record.kind === message.kind && BigInt(record.second) === message.second && record.signature.toLowerCase() === message.signature.toLowerCase();
}

/**
 * Decides on attestations and restoration notices: signature, registration, key, seq and
 * freshness, in that order, then stores accepted and consumed messages through the group
 * committer. Forged messages never reach the store; correctly signed ones rejected with a
 * final code are stored as rejected, which uses up their seq.
 */
export class DeviceMessageIngest {
  readonly #options: IngestOptions;

  constructor(options: IngestOptions) {
    this.#options = options;
  }

  /**
   * Starts checking `message` from the connection that said hello as `helloDeviceId`.
   * Signature recovery starts at once on a worker; the decision waits for `decide`.
   */
  start(helloDeviceId: string, message: SignedDeviceMessage, receivedMs: number): StartedMessage {
    if (message.deviceId !== helloDeviceId) {
      const error = new ProtocolError("DEVICE_MISMATCH", `this connection said hello as ${helloDeviceId}`, { deviceId: message.deviceId, helloDeviceId });
      return { decide: () => Promise.resolve(settled(this.#reject(message, error))) };
    }
    let signature: CanonicalSignature;
    try {
      signature = splitCanonicalSignature(message.signature);
    } catch (error) {
      const rejection = error instanceof ProtocolError ? error : new ProtocolError("NON_CANONICAL_SIGNATURE");
      return { decide: () => Promise.resolve(settled(this.#reject(message, rejection))) };
    }
    const signer = this.#options.verifier.recoverDeviceMessage(message, signature);
    // The rejection is handled when decide() awaits it; this keeps it from being reported as unhandled before then.
    signer.catch(() => undefined);
    return { decide: () => this.#decide(message, signer, receivedMs) };
  }

  async #decide(message: SignedDeviceMessage, signerPromise: Promise<string | undefined>, receivedMs: number): Promise<{ outcome: Promise<IngestOutcome> }> {
    try {
      const signer = await signerPromise;
      const device = await this.#requireDevice(message.deviceId);
      await this.#checkSigner(device, message, signer);
      const outcome = this.#decideAuthentic(message, receivedMs);
      return { outcome: outcome.then(undefined, (error: unknown) => this.#failure(message, error)) };
    } catch (error) {
      return settled(this.#failure(message, error));
    }
  }

  #failure(message: SignedDeviceMessage, error: unknown): IngestOutcome {
    if (error instanceof ProtocolError) {
      return this.#reject(message, error);
    }
    this.#options.logger.error("failed to handle a device message", { device: message.deviceId, seq: message.seq, error });
    return this.#reject(message, new ProtocolError("INTERNAL_ERROR", "the server failed while handling the message; send it again"));
  }

  async #requireDevice(deviceId: string): Promise<MirroredDevice> {
    const device = this.#options.registry.device(deviceId);
    if (device === undefined) {
      throw await this.unknownDeviceError(deviceId);
    }
    if (device.revokedAt !== undefined) {
      throw new ProtocolError("DEVICE_REVOKED", undefined, { deviceId, revokedAt: device.revokedAt });
    }
    return device;
  }

  /** Builds the error for a device the mirror does not know: pending when the chain already has it. */
  async unknownDeviceError(deviceId: string): Promise<ProtocolError> {
    let registered: boolean;
    try {
      registered = await this.#options.lookup.isRegisteredOnChain(deviceId);
    } catch (error) {
      this.#options.metrics.rpcErrors.inc({ operation: "getDevice" });
      this.#options.logger.warn("could not read a device from the registry", { device: deviceId, error });
      return new ProtocolError("INTERNAL_ERROR", "the registry could not be read; try again later", { deviceId });
    }
    return registered ? new ProtocolError("DEVICE_REGISTRATION_PENDING", undefined, { deviceId }) : new ProtocolError("DEVICE_NOT_REGISTERED", undefined, { deviceId });
  }

  async #checkSigner(device: MirroredDevice, message: SignedDeviceMessage, signer: string | undefined): Promise<void> {
    if (signer === undefined) {
      throw new ProtocolError("BAD_SIGNATURE", "the signature recovers no key", { deviceId: device.deviceId });
    }
    const expected = message.second <= BigInt(Number.MAX_SAFE_INTEGER) ? keyValidAt(device, Number(message.second)) : undefined;
    if (expected !== undefined && expected.toLowerCase() === signer) {
      return;
    }
    const recovered = getAddress(signer);
    if (device.keys.some((key) => key.key === recovered)) {
      throw new ProtocolError("KEY_NOT_VALID_AT_SECOND", undefined, { deviceId: device.deviceId, key: recovered, second: message.second.toString() });
    }
    // A key rotated on chain but not yet confirmed would look forged; ask the chain before calling it forged.
    let onChain: string;
    try {
      onChain = await this.#options.lookup.keyValidAtOnChain(device.deviceId, message.second);
    } catch (error) {
      this.#options.metrics.rpcErrors.inc({ operation: "keyValidAt" });
      this.#options.logger.warn("could not read a device key from the registry", { device: device.deviceId, error });
      throw new ProtocolError("INTERNAL_ERROR", "the registry could not be read; try again later");
    }
    if (onChain !== ZERO_ADDRESS && getAddress(onChain) === recovered) {
      throw new ProtocolError("DEVICE_REGISTRATION_PENDING", "the key rotation is on chain but still waiting for confirmations", { deviceId: device.deviceId });
    }
    throw new ProtocolError("BAD_SIGNATURE", undefined, { deviceId: device.deviceId });
  }

  /** Decides synchronously and queues the record; the returned promise settles after its commit. */
  #decideAuthentic(message: SignedDeviceMessage, receivedMs: number): Promise<IngestOutcome> {
    const { messages, committer, clock } = this.#options;
    const deviceId = message.deviceId;
    const committed = messages.progress(deviceId);
    const pending = committer.pendingFor(deviceId);
    const lastSeq = Math.max(committed.lastSeq, pending?.lastSeq ?? 0);
    const lastSecond = Math.max(committed.lastSecond, pending?.lastSecond ?? 0);

    if (message.seq <= BigInt(lastSeq)) {
      return this.#answerResend(message);
    }
    if (message.seq > BigInt(lastSeq) + 1n) {
      throw new ProtocolError("SEQ_GAP", `expected seq ${lastSeq + 1}`, { expectedSeq: lastSeq + 1 });
    }
    const now = clock.nowSeconds();
    if (message.second > BigInt(now + this.#options.futureSkewSimSeconds)) {
      throw new ProtocolError("SECOND_IN_FUTURE", `second ${message.second} is after the server clock ${now}`, { second: message.second.toString(), serverSecond: now });
    }

    const second = Number(message.second);
    const seq = Number(message.seq);
    let rejection: ProtocolError | undefined;
    if (second < now - this.#options.maxBackfillAgeSimSeconds) {
      rejection = new ProtocolError("SECOND_TOO_OLD", `second ${second} is older than ${this.#options.maxBackfillAgeSimSeconds} s`, {
        second,
        oldestAccepted: now - this.#options.maxBackfillAgeSimSeconds,
      });
    } else if (second <= lastSecond) {
      rejection = new ProtocolError("SECOND_OUT_OF_ORDER", `second ${second} is not after the previous second ${lastSecond}`, { second, previousSecond: lastSecond });
    } else if (second <= committed.settledUntil) {
      rejection = new ProtocolError("SECOND_ALREADY_SETTLED", `seconds up to ${committed.settledUntil} are settled`, { second, settledUntil: committed.settledUntil });
    }

    const record: MessageRecord = {
      kind: message.kind,
      deviceId,
      seq,
      second,
      signature: message.signature.toLowerCase(),
      status: statusOf(message, rejection),
      reason: rejection?.code,
      receivedMs,
    };
    return committer.add(record).then(() => {
      if (rejection !== undefined) {
        return this.#reject(message, rejection);
      }
      this.#options.metrics.messagesAccepted.inc({ kind: message.kind });
      return { kind: "ack", seq: message.seq };
    });
  }

  async #answerResend(message: SignedDeviceMessage): Promise<IngestOutcome> {
    const { messages, committer } = this.#options;
    const seq = Number(message.seq);
    const pending = committer.pendingRecord(message.deviceId, seq);
    if (pending !== undefined) {
      if (!sameContent(pending.record, message)) {
        throw new ProtocolError("SEQ_REPLAYED", undefined, { seq });
      }
      await pending.committed;
      return this.#resendOutcome(message, pending.record.reason);
    }
    const stored = messages.message(message.deviceId, seq);
    if (stored === undefined) {
      throw new ProtocolError("SEQ_REPLAYED", `seq ${seq} was accepted earlier and is no longer kept`, { seq, pruned: true });
    }
    if (!sameContent(stored, message)) {
      throw new ProtocolError("SEQ_REPLAYED", undefined, { seq });
    }
    return this.#resendOutcome(message, stored.status === "rejected" ? stored.reason : undefined);
  }

  #resendOutcome(message: SignedDeviceMessage, reason: string | undefined): IngestOutcome {
    if (reason === undefined) {
      return { kind: "ack", seq: message.seq };
    }
    const code: ErrorCode = isErrorCode(reason) ? reason : "INTERNAL_ERROR";
    return this.#reject(message, new ProtocolError(code, "this seq was rejected earlier", { seq: Number(message.seq) }));
  }

  #reject(message: SignedDeviceMessage, error: ProtocolError): IngestOutcome {
    this.#options.metrics.messagesRejected.inc({ code: error.code });
    this.#options.logger.info("device message rejected", { device: message.deviceId, seq: message.seq, second: message.second, code: error.code, reason: error.message });
    return { kind: "error", error, seq: message.seq };
  }
}
