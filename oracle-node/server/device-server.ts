import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { getAddress } from "ethers";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { ProtocolDomain } from "../../protocol/eip712.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { createChallenge, helloDigest } from "../../protocol/hello.ts";
import { parseCanonicalSignature } from "../../protocol/signature.ts";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeServerToDevice, errorMessageFrom, parseDeviceToServer, type HelloMessage, type ServerToDeviceMessage } from "../../protocol/wire.ts";
import type { DeviceMessageIngest, IngestOutcome } from "../ingest/device-message-ingest.ts";
import type { Logger } from "../logger.ts";
import type { OracleMetrics } from "../metrics.ts";
import type { MessageStore } from "../store/message-store.ts";
import type { RegistryStore } from "../store/registry-store.ts";
import type { VerifierPool } from "../verify/verifier-pool.ts";
import { parseDeviceFrame, rawDeviceIdOf, type KnownDeviceId } from "./device-frame.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Handles a plain HTTP request; returns false when no route matched. */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export type DeviceServerOptions = {
  host: string;
  port: number;
  domain: ProtocolDomain;
  ingest: DeviceMessageIngest;
  verifier: VerifierPool;
  registry: RegistryStore;
  messages: MessageStore;
  logger: Logger;
  metrics: OracleMetrics;
  /** Messages a connection may send at once (back-fill burst). */
  rateLimitBurst: number;
  /** Messages per real second a connection may send over time. */
  rateLimitPerSecond: number;
  http: HttpHandler;
};

type Connection = {
  socket: WebSocket;
  challenge: string;
  deviceId: string | undefined;
  helloInProgress: boolean;
  bucket: TokenBucket;
  tail: Promise<void>;
  /** Replies in receive order, each sent after its message's commit. */
  answers: Promise<void>;
  remote: string;
  /** The deviceId string of this connection's first parsed device message, to parse later ones faster. */
  knownDeviceId: KnownDeviceId | undefined;
  /** The TCP socket under the WebSocket, corked while replies of one turn are written. */
  transport: Duplex;
  corked: boolean;
};

/** Close code sent after a failed hello: the device must reconnect for a new challenge. */
const CLOSE_POLICY_VIOLATION = 1008;

/**
 * Serves device agents over WebSocket and the HTTP endpoints on the same port. Every frame
 * is parsed as untrusted input with the protocol's parser; a frame above the protocol's
 * maximum closes only that connection, with code 1009.
 */
export class DeviceServer {
  readonly #options: DeviceServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();

  constructor(options: DeviceServerOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    this.#http = createServer((request, response) => {
      this.#serveHttp(request, response);
    });
    this.#http.on("upgrade", (request, socket, head) => {
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, request, socket));
    });
    this.#http.on("clientError", (error, socket) => {
      this.#options.logger.debug("bad HTTP request", { error });
      socket.destroy();
    });
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#http.once("error", reject);
      this.#http.listen(this.#options.port, this.#options.host, () => {
        this.#http.off("error", reject);
        const address = this.#http.address();
        const port = typeof address === "object" && address !== null ? (address satisfies AddressInfo).port : this.#options.port;
        this.#options.logger.info("listening for devices and HTTP", { host: this.#options.host, port });
        resolve(port);
      });
    });
  }

  /** Open device connections. */
  connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting, waits for messages being decided, runs `flush` to commit them, sends
   * their replies, and closes every connection.
   */
  async close(flush: () => void): Promise<void> {
    const closing = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await Promise.allSettled([...this.#connections].map((connection) => connection.tail));
    flush();
    await Promise.allSettled([...this.#connections].map((connection) => connection.answers));
    for (const connection of this.#connections) {
      connection.socket.close(1001, "server shutting down");
    }
    this.#wss.close();
    this.#http.closeAllConnections();
    await closing;
  }

  #serveHttp(request: IncomingMessage, response: ServerResponse): void {
    this.#options
      .http(request, response)
      .then((handled) => {
        if (!handled) {
          response.writeHead(404, { "content-type": "application/json" });
          response.end(JSON.stringify({ error: `no route for ${request.method ?? "?"} ${request.url ?? "?"}` }));
        }
      })
      .catch((error: unknown) => {
        this.#options.logger.error("HTTP request failed", { url: request.url, error });
        if (!response.headersSent) {
          response.writeHead(500, { "content-type": "application/json" });
        }
        response.end(JSON.stringify({ error: "internal error" }));
      });
  }

  #accept(socket: WebSocket, request: IncomingMessage, transport: Duplex): void {
    const connection: Connection = {
      socket,
      challenge: createChallenge(),
      deviceId: undefined,
      helloInProgress: false,
      bucket: new TokenBucket(this.#options.rateLimitBurst, this.#options.rateLimitPerSecond),
      tail: Promise.resolve(),
      answers: Promise.resolve(),
      remote: `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? "?"}`,
      knownDeviceId: undefined,
      transport,
      corked: false,
    };
    this.#connections.add(connection);
    this.#options.metrics.connections.set(this.#connections.size);
    socket.on("message", (data, isBinary) => this.#onFrame(connection, data, isBinary));
    socket.on("close", (code) => {
      this.#connections.delete(connection);
      this.#options.metrics.connections.set(this.#connections.size);
      this.#options.logger.debug("device connection closed", { device: connection.deviceId, remote: connection.remote, closeCode: code });
    });
    socket.on("error", (error) => {
      this.#options.logger.info("device connection failed", { device: connection.deviceId, remote: connection.remote, error });
    });
    this.#send(connection, { type: "challenge", protocolVersion: PROTOCOL_VERSION, challenge: connection.challenge });
  }

  #send(connection: Connection, message: ServerToDeviceMessage): void {
    if (connection.socket.readyState === connection.socket.OPEN) {
      connection.socket.send(encodeServerToDevice(message));
    }
  }

  #sendError(connection: Connection, error: ProtocolError, seq?: bigint): void {
    this.#send(connection, errorMessageFrom(error, seq));
  }

  #onFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    const receivedMs = Date.now();
    if (!connection.bucket.take()) {
      this.#options.metrics.messagesRejected.inc({ code: "RATE_LIMITED" });
      this.#sendError(connection, new ProtocolError("RATE_LIMITED", "slow down and re-send the messages not acknowledged"));
      return;
    }
    let parsed;
    try {
      if (isBinary) {
        parsed = parseDeviceToServer(undefined);
      } else {
        let bytes: Buffer;
        if (Array.isArray(data)) {
          bytes = Buffer.concat(data);
        } else if (data instanceof ArrayBuffer) {
          bytes = Buffer.from(data);
        } else {
          bytes = data;
        }
        const text = bytes.toString("utf8");
        parsed = parseDeviceFrame(text, connection.knownDeviceId);
        if (connection.knownDeviceId === undefined && parsed.type !== "hello") {
          const raw = rawDeviceIdOf(text);
          connection.knownDeviceId = raw === undefined ? undefined : { raw, address: parsed.message.deviceId };
        }
      }
    } catch (error) {
      const rejection = error instanceof ProtocolError ? error : new ProtocolError("MALFORMED_MESSAGE");
      this.#options.metrics.messagesRejected.inc({ code: rejection.code });
      this.#options.logger.info("device frame rejected", { device: connection.deviceId, remote: connection.remote, code: rejection.code, reason: rejection.message });
      this.#sendError(connection, rejection);
      return;
    }
    if (parsed.type === "hello") {
      this.#onHello(connection, parsed);
      return;
    }
    const message = parsed.message;
    const deviceId = connection.deviceId;
    if (deviceId === undefined) {
      this.#options.metrics.messagesRejected.inc({ code: "HELLO_REQUIRED" });
      this.#sendError(connection, new ProtocolError("HELLO_REQUIRED"), message.seq);
      return;
    }
    const started = this.#options.ingest.start(deviceId, message, receivedMs);
    connection.tail = connection.tail.then(async () => {
      const decided = await started.decide();
      // Acks go out as commits finish; the next message is decided meanwhile.
      connection.answers = connection.answers.then(async () => this.#answer(connection, await decided.outcome));
    });
  }

  #answer(connection: Connection, outcome: IngestOutcome): void {
    // Replies settled by one commit are written with one system call: the socket stays corked
    // until the promise callbacks of this turn have run.
    if (!connection.corked) {
      connection.corked = true;
      connection.transport.cork();
      process.nextTick(() => {
        connection.corked = false;
        connection.transport.uncork();
      });
    }
    if (outcome.kind === "ack") {
      this.#send(connection, { type: "ack", seq: outcome.seq });
    } else {
      this.#sendError(connection, outcome.error, outcome.seq);
    }
  }

  #onHello(connection: Connection, hello: HelloMessage): void {
    if (connection.deviceId !== undefined || connection.helloInProgress) {
      this.#options.metrics.messagesRejected.inc({ code: "MALFORMED_MESSAGE" });
      this.#sendError(connection, new ProtocolError("MALFORMED_MESSAGE", "this connection already said hello", { field: "type" }));
      return;
    }
    connection.helloInProgress = true;
    connection.tail = connection.tail.then(async () => {
      try {
        const deviceId = await this.#checkHello(connection, hello);
        connection.deviceId = deviceId;
        const lastSeq = this.#options.messages.progress(deviceId).lastSeq;
        this.#options.logger.debug("hello accepted", { device: deviceId, remote: connection.remote, lastSeq });
        this.#send(connection, { type: "welcome", deviceId, lastSeq: BigInt(lastSeq) });
      } catch (error) {
        const rejection = error instanceof ProtocolError ? error : new ProtocolError("INTERNAL_ERROR");
        if (!(error instanceof ProtocolError)) {
          this.#options.logger.error("hello failed", { device: hello.deviceId, error });
        }
        this.#options.metrics.messagesRejected.inc({ code: rejection.code });
        this.#options.logger.info("hello rejected", { device: hello.deviceId, remote: connection.remote, code: rejection.code, reason: rejection.message });
        this.#sendError(connection, rejection);
        connection.socket.close(CLOSE_POLICY_VIOLATION, rejection.code);
      } finally {
        connection.helloInProgress = false;
      }
    });
  }

  async #checkHello(connection: Connection, hello: HelloMessage): Promise<string> {
    if (hello.challenge.toLowerCase() !== connection.challenge.toLowerCase()) {
      throw new ProtocolError("CHALLENGE_MISMATCH");
    }
    const signature = parseCanonicalSignature(hello.signature);
    const signer = await this.#options.verifier.recoverDigest(helloDigest(this.#options.domain, hello.deviceId, connection.challenge), signature);
    const device = this.#options.registry.device(hello.deviceId);
    if (device === undefined) {
      throw await this.#options.ingest.unknownDeviceError(hello.deviceId);
    }
    if (device.revokedAt !== undefined) {
      throw new ProtocolError("DEVICE_REVOKED", undefined, { deviceId: device.deviceId, revokedAt: device.revokedAt });
    }
    if (signer === undefined || !device.keys.some((key) => key.key === getAddress(signer))) {
      throw new ProtocolError("BAD_SIGNATURE", "the hello is not signed by a key of this device", { deviceId: device.deviceId });
    }
    return device.deviceId;
  }
}
