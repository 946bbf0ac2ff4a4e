import WebSocket from "ws";
import { computeAddress, type SigningKey } from "ethers";
import { ProtocolError, type ErrorCode } from "../protocol/errors.ts";
import { signHello } from "../protocol/hello.ts";
import type { ProtocolDomain } from "../protocol/eip712.ts";
import { MAX_FRAME_BYTES, encodeDeviceToServer, parseServerToDevice, type ErrorMessage, type ServerToDeviceMessage } from "../protocol/wire.ts";
import { backoffDelayRealMs, type BackoffBounds } from "./backoff.ts";
import type { AgentStore, QueuedMessage } from "./agent-store.ts";
import type { Logger } from "./logger.ts";

export type OracleLinkOptions = {
  url: string;
  deviceId: string;
  domain: ProtocolDomain;
  store: AgentStore;
  /** Returns the key that signs the hello: the key valid now. */
  helloKey: () => SigningKey;
  logger: Logger;
  reconnect: BackoffBounds;
  /** Most messages sent and not yet acknowledged. */
  sendWindow: number;
  /** Real milliseconds between pings; a connection without a pong by the next ping is dropped. */
  pingIntervalRealMs: number;
  /** Called after acknowledgements or rejections removed messages from the queue. */
  onQueueShrunk: () => void;
};

/**
 * Connection phase, as `device-agent status` shows it. "hello-rejected" waits to reconnect
 * after the oracle rejected the hello with a final code.
 */
export type LinkPhase = "stopped" | "connecting" | "hello" | "ready" | "waiting" | "hello-rejected";

/** Real milliseconds acknowledgements are collected before one transaction deletes them. */
const ACK_FLUSH_REAL_MS = 25;
const ACK_FLUSH_COUNT = 256;
/** Real milliseconds between two records of the same retryable error in the state file. */
const ERROR_RECORD_INTERVAL_REAL_MS = 1_000;
/** A backoff attempt number high enough that the delay is drawn at the maximum bound. */
const MAX_BACKOFF_ATTEMPT = 30;

/** A hello the oracle rejected with a final code, and the text `status` shows for it. */
type HelloRejection = { code: ErrorCode; reason: string; hint: string };

/**
 * The WebSocket link to the oracle node. It signs a hello for the server's challenge and
 * resumes after the last seq the oracle reports. It sends queued messages strictly in seq
 * order with up to `sendWindow` in flight and deletes them from the queue on acknowledgement.
 * It records final rejections, re-sends after retryable errors, and reconnects with
 * exponential backoff and jitter.
 */
export class OracleLink {
  readonly #options: OracleLinkOptions;
  readonly #logger: Logger;
  #socket: WebSocket | null = null;
  #phase: LinkPhase = "stopped";
  #stopping = false;
  #reconnectAttempt = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #alive = true;
  #inFlight = new Set<number>();
  #lastSentSeq = 0;
  #retryAttempt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #pendingAcks: number[] = [];
  #ackTimer: NodeJS.Timeout | null = null;
  #lastRecordedError: { code: string; atMs: number } | null = null;
  #idleWaiters: (() => void)[] = [];
  #helloKeyAddress: string | null = null;
  #helloRejection: HelloRejection | null = null;

  constructor(options: OracleLinkOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  get phase(): LinkPhase {
    return this.#phase;
  }

  start(): void {
    this.#stopping = false;
    this.#connect();
  }

  #setPhase(phase: LinkPhase): void {
    if (phase === this.#phase) {
      return;
    }
    this.#phase = phase;
    this.#options.store.setMeta("connection", JSON.stringify({ phase, atMs: Date.now() }));
  }

  #connect(): void {
    this.#reconnectTimer = null;
    if (this.#stopping) {
      return;
    }
    this.#setPhase("connecting");
    const socket = new WebSocket(this.#options.url, { handshakeTimeout: 10_000, maxPayload: MAX_FRAME_BYTES });
    this.#socket = socket;
    this.#alive = true;
    socket.on("open", () => {
      this.#setPhase("hello");
      this.#logger.debug("connected; waiting for the challenge", { url: this.#options.url });
      this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalRealMs);
    });
    socket.on("pong", () => {
      this.#alive = true;
    });
    socket.on("message", (data, isBinary) => {
      this.#alive = true;
      this.#receive(isBinary ? data : data.toString());
    });
    socket.on("error", (error) => {
      this.#logger.warn("connection error", { url: this.#options.url, error });
    });
    socket.on("close", (code, reason) => this.#closed(socket, code, reason.toString()));
  }

  #ping(): void {
    const socket = this.#socket;
    if (socket === null) {
      return;
    }
    if (!this.#alive) {
      this.#logger.warn("no pong from the oracle; dropping the connection", { pingIntervalRealMs: this.#options.pingIntervalRealMs });
      socket.terminate();
      return;
    }
    this.#alive = false;
    socket.ping();
  }

  #closed(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.#socket) {
      return;
    }
    this.#socket = null;
    this.#clearConnectionTimers();
    this.#inFlight.clear();
    this.#flushAcks();
    this.#resolveIdleWaiters();
    if (this.#stopping) {
      this.#setPhase("stopped");
      return;
    }
    const rejection = this.#helloRejection;
    // A rejected hello fails the same way until the configuration or the registry changes,
    // so the agent waits the maximum delay between attempts instead of backing off from the minimum.
    const delay = backoffDelayRealMs(this.#options.reconnect, rejection === null ? this.#reconnectAttempt : MAX_BACKOFF_ATTEMPT);
    this.#reconnectAttempt += 1;
    if (rejection === null) {
      this.#setPhase("waiting");
      this.#logger.info("disconnected; reconnecting", { closeCode: code, reason, retryInRealMs: delay, attempt: this.#reconnectAttempt, queued: this.#options.store.queuedCount() });
    } else {
      this.#setPhase("hello-rejected");
      this.#logger.error("oracle rejected the hello; reconnecting at the maximum delay", {
        code: rejection.code,
        reason: rejection.reason,
        hint: rejection.hint,
        retryInRealMs: delay,
        attempt: this.#reconnectAttempt,
        queued: this.#options.store.queuedCount(),
      });
    }
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #clearConnectionTimers(): void {
    if (this.#pingTimer !== null) {
      clearInterval(this.#pingTimer);
      this.#pingTimer = null;
    }
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  #receive(frame: unknown): void {
    let message: ServerToDeviceMessage;
    try {
      message = parseServerToDevice(frame);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#recordError(error.code, `oracle sent an invalid frame: ${error.message}`, null);
        this.#logger.error("oracle sent an invalid frame; dropping the connection", { code: error.code, error });
        this.#socket?.close(1002, error.code);
        return;
      }
      throw error;
    }
    switch (message.type) {
      case "challenge":
        this.#answerChallenge(message.challenge);
        return;
      case "welcome":
        this.#welcome(message.deviceId, message.lastSeq);
        return;
      case "ack":
        this.#acknowledged(Number(message.seq));
        return;
      case "error":
        this.#rejected(message);
        return;
    }
  }

  #answerChallenge(challenge: string): void {
    const { domain, deviceId } = this.#options;
    const key = this.#options.helloKey();
    this.#helloKeyAddress = computeAddress(key.publicKey);
    const signature = signHello(domain, deviceId, challenge, key);
    this.#socket?.send(encodeDeviceToServer({ type: "hello", deviceId, challenge, signature }));
  }

  #welcome(deviceId: string, lastSeqBig: bigint): void {
    const { store } = this.#options;
    if (deviceId.toLowerCase() !== this.#options.deviceId.toLowerCase()) {
      this.#logger.error("oracle welcomed another device; dropping the connection", { welcomedDeviceId: deviceId });
      this.#socket?.close(1008, "device mismatch");
      return;
    }
    const lastSeq = Number(lastSeqBig);
    store.recordWelcome();
    this.#helloRejection = null;
    const acknowledged = store.acknowledgeUpTo(lastSeq);
    if (lastSeq >= store.nextSeq()) {
      // The oracle stored seqs this device has no record of, for example after its state was
      // restored from an old copy, so numbering continues after them instead of reusing them.
      this.#logger.warn("oracle reports a later seq than the agent signed; continuing after it", { lastSeq, nextSeq: store.nextSeq() });
      store.setMeta("next_seq", String(lastSeq + 1));
    }
    this.#reconnectAttempt = 0;
    this.#retryAttempt = 0;
    this.#lastSentSeq = lastSeq;
    this.#inFlight.clear();
    this.#setPhase("ready");
    this.#logger.info("oracle session started", { lastSeq, acknowledgedOnResume: acknowledged, queued: store.queuedCount() });
    if (acknowledged > 0) {
      this.#options.onQueueShrunk();
    }
    this.pump();
  }

  /** Sends queued messages after the last sent seq while the send window has room. */
  pump(): void {
    const socket = this.#socket;
    if (this.#phase !== "ready" || socket === null || this.#retryTimer !== null) {
      return;
    }
    const room = this.#options.sendWindow - this.#inFlight.size;
    if (room <= 0) {
      return;
    }
    const messages = this.#options.store.queuedAfter(this.#lastSentSeq, room);
    for (const message of messages) {
      socket.send(this.#encode(message));
      this.#inFlight.add(message.seq);
      this.#lastSentSeq = message.seq;
    }
    if (this.#inFlight.size === 0) {
      this.#resolveIdleWaiters();
    }
  }

  #encode(message: QueuedMessage): string {
    return encodeDeviceToServer({
      type: message.kind,
      message: {
        kind: message.kind,
        deviceId: this.#options.deviceId,
        second: BigInt(message.second),
        seq: BigInt(message.seq),
        signature: message.signature,
      },
    });
  }

  #acknowledged(seq: number): void {
    this.#inFlight.delete(seq);
    this.#retryAttempt = 0;
    this.#pendingAcks.push(seq);
    if (this.#pendingAcks.length >= ACK_FLUSH_COUNT) {
      this.#flushAcks();
    } else if (this.#ackTimer === null) {
      this.#ackTimer = setTimeout(() => this.#flushAcks(), ACK_FLUSH_REAL_MS);
    }
    this.pump();
  }

  /** Deletes acknowledged messages from the queue in one transaction. */
  #flushAcks(): void {
    if (this.#ackTimer !== null) {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = null;
    }
    if (this.#pendingAcks.length === 0) {
      return;
    }
    const seqs = this.#pendingAcks;
    this.#pendingAcks = [];
    this.#options.store.acknowledge(seqs);
    this.#options.onQueueShrunk();
    if (this.#inFlight.size === 0) {
      this.#resolveIdleWaiters();
    }
  }

  #recordError(code: string, message: string, seq: number | null): void {
    const nowMs = Date.now();
    const last = this.#lastRecordedError;
    if (seq === null && last !== null && last.code === code && nowMs - last.atMs < ERROR_RECORD_INTERVAL_REAL_MS) {
      return;
    }
    this.#lastRecordedError = { code, atMs: nowMs };
    this.#options.store.recordError({ code, message, seq, atMs: nowMs });
  }

  #rejected(error: ErrorMessage): void {
    const seq = error.seq === undefined ? null : Number(error.seq);
    if (seq === null) {
      this.#connectionError(error);
      return;
    }
    if (!error.retryable) {
      this.#flushAcks();
      this.#inFlight.delete(seq);
      const moved = this.#options.store.reject(seq, error.code, error.message, Date.now());
      this.#logger.warn("oracle rejected a message with a final error; it will not be re-sent", { seq, code: error.code, reason: error.message, details: error.details, wasQueued: moved });
      this.#options.onQueueShrunk();
      this.pump();
      return;
    }
    this.#retryLater(error.code, error.message, seq);
  }

  /** Stops sending, then re-sends every queued message in seq order after a backoff delay. */
  #retryLater(code: ErrorCode, reason: string, seq: number): void {
    this.#inFlight.clear();
    if (this.#retryTimer !== null) {
      return;
    }
    this.#recordError(code, reason, null);
    const delay = backoffDelayRealMs(this.#options.reconnect, this.#retryAttempt);
    this.#retryAttempt += 1;
    this.#logger.info("oracle asked to retry; re-sending from the oldest queued message", { seq, code, reason, retryInRealMs: delay });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#flushAcks();
      this.#lastSentSeq = 0;
      this.pump();
    }, delay);
  }

  #connectionError(error: ErrorMessage): void {
    if (!error.retryable && this.#phase === "hello") {
      this.#helloRejected(error);
      return;
    }
    this.#recordError(error.code, error.message, null);
    if (error.retryable) {
      this.#logger.warn("oracle reported a retryable connection error", { code: error.code, reason: error.message, details: error.details });
      if (this.#phase === "ready") {
        this.#retryLater(error.code, error.message, 0);
        return;
      }
    } else {
      this.#logger.error("oracle reported a final connection error; reconnecting later", { code: error.code, reason: error.message, details: error.details });
    }
    this.#socket?.close(1000, error.code);
  }

  /** Records a final rejection of the hello with a hint at its likely cause, and closes the connection. */
  #helloRejected(error: ErrorMessage): void {
    const hint = this.#helloRejectionHint(error.code);
    this.#helloRejection = { code: error.code, reason: error.message, hint };
    this.#recordError(error.code, `the oracle rejected the hello: ${error.message}. ${hint}`, null);
    this.#socket?.close(1000, error.code);
  }

  #helloRejectionHint(code: ErrorCode): string {
    const { domain, deviceId, reconnect } = this.#options;
    const retry = `Until then the agent tries again after up to ${reconnect.maxRealMs} ms (--reconnect-max-real-ms) each time.`;
    if (code === "BAD_SIGNATURE") {
      return (
        `Check --chain-id ${domain.chainId} and --pool-address ${domain.verifyingContract} against the deployment, because a hello signed for another chain or pool does not verify, ` +
        `and restart the agent with the corrected values. If both match, check that key ${this.#helloKeyAddress ?? "valid now"} is registered for device ${deviceId}. ${retry}`
      );
    }
    return retry;
  }

  #resolveIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }

  /**
   * Stops the link. It first waits up to `graceRealMs` for the queued messages to be sent
   * and acknowledged, then closes the socket. Whatever is left stays on disk.
   */
  async stop(graceRealMs: number): Promise<void> {
    const deadline = Date.now() + graceRealMs;
    while (this.#phase === "ready" && this.#options.store.queuedCount() - this.#pendingAcks.length > 0 && Date.now() < deadline) {
      this.pump();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.min(100, deadline - Date.now())));
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#stopping = true;
    if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
    this.#flushAcks();
    const socket = this.#socket;
    if (socket !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1_000);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1001, "agent stopping");
      });
    }
    this.#clearConnectionTimers();
    this.#setPhase("stopped");
  }
}
