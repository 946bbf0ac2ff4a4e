import type { AddressInfo } from "node:net";
import { getAddress } from "ethers";
import { WebSocketServer, type WebSocket } from "ws";
import { DeviceMessageHasher, sameDeviceMessage, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import type { ProtocolDomain } from "../../protocol/eip712.ts";
import { ProtocolError, type ErrorCode } from "../../protocol/errors.ts";
import { createChallenge, recoverHelloSigner } from "../../protocol/hello.ts";
import { parseCanonicalSignature } from "../../protocol/signature.ts";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeServerToDevice, errorMessageFrom, parseDeviceToServer, type ServerToDeviceMessage } from "../../protocol/wire.ts";

/** One key of a device as the registry stores it, valid over [validFrom, next key's validFrom). */
export type TestKey = { key: string; validFrom: number };

/** A message the server accepted, with the key its signature recovered to. */
export type AcceptedMessage = SignedDeviceMessage & { signer: string };

/** Reply to a message of the next expected seq: undefined accepts it, an error code rejects it. */
export type Injection = ErrorCode | undefined;

type Session = { socket: WebSocket; challenge: string; deviceId: string | null };

type DeviceRecord = { keys: TestKey[]; lastSeq: bigint; accepted: Map<bigint, SignedDeviceMessage> };

/**
 * A small oracle for device-agent tests. It sends a challenge and verifies the hello and
 * every message against the device's key history. It accepts seqs strictly in order,
 * acknowledges identical re-sends, and records what it accepted and every frame it received.
 * Tests can inject error codes, drop connections and reject new ones.
 */
export class AgentTestServer {
  readonly domain: ProtocolDomain;
  readonly #hasher: DeviceMessageHasher;
  readonly #devices = new Map<string, DeviceRecord>();
  readonly #sessions = new Set<Session>();
  #server: WebSocketServer | null = null;
  #port = 0;
  #offline = false;
  #unresponsive = false;
  /** Every accepted message, in the order it was accepted. */
  readonly accepted: AcceptedMessage[] = [];
  /** Seqs of every attestation or restoration frame received, in order, re-sends included. */
  readonly receivedSeqs: bigint[] = [];
  /** Seqs rejected with a final code, with the code. */
  readonly rejected: { seq: bigint; code: ErrorCode }[] = [];
  /** Decides the reply to the next expected seq before it is checked; undefined accepts. */
  inject: (message: SignedDeviceMessage) => Injection = () => undefined;
  #listeners: (() => void)[] = [];

  constructor(domain: ProtocolDomain) {
    this.domain = domain;
    this.#hasher = new DeviceMessageHasher(domain);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  /** Starts listening on 127.0.0.1, on `port` or a free one. */
  async start(port = 0): Promise<void> {
    const server = new WebSocketServer({ host: "127.0.0.1", port, maxPayload: MAX_FRAME_BYTES, autoPong: false });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    this.#port = (server.address() as AddressInfo).port;
    server.on("connection", (socket) => this.#connected(socket));
    this.#server = server;
  }

  async close(): Promise<void> {
    this.dropConnections();
    const server = this.#server;
    this.#server = null;
    if (server !== null) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  registerDevice(deviceId: string, key: string = deviceId): void {
    this.#devices.set(getAddress(deviceId), { keys: [{ key: getAddress(key), validFrom: 0 }], lastSeq: 0n, accepted: new Map() });
  }

  /** Adds a key valid from `validFrom`, as the registry's rotateKey does. */
  rotateKey(deviceId: string, newKey: string, validFrom: number): void {
    this.#device(deviceId).keys.push({ key: getAddress(newKey), validFrom });
  }

  lastSeq(deviceId: string): bigint {
    return this.#device(deviceId).lastSeq;
  }

  /** Terminates every open connection, as a lost network would. */
  dropConnections(): void {
    for (const session of this.#sessions) {
      session.socket.terminate();
    }
    this.#sessions.clear();
  }

  /** While offline, the server terminates every new connection before its challenge. */
  setOffline(offline: boolean): void {
    this.#offline = offline;
    if (offline) {
      this.dropConnections();
    }
  }

  /** While unresponsive, the server keeps connections open but ignores frames and pings, as a dead peer would. */
  setUnresponsive(unresponsive: boolean): void {
    this.#unresponsive = unresponsive;
  }

  /** Resolves once `predicate` holds, checking after every received frame. */
  waitFor(predicate: () => boolean, description: string, timeoutRealMs = 60_000): Promise<void> {
    if (predicate()) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((listener) => listener !== check);
        reject(new Error(`timed out after ${timeoutRealMs} ms waiting for ${description}; accepted ${this.accepted.length}`));
      }, timeoutRealMs);
      const check = (): void => {
        if (predicate()) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((listener) => listener !== check);
          resolve();
        }
      };
      this.#listeners.push(check);
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      listener();
    }
  }

  #device(deviceId: string): DeviceRecord {
    const device = this.#devices.get(getAddress(deviceId));
    if (device === undefined) {
      throw new ProtocolError("DEVICE_NOT_REGISTERED", `device ${deviceId} is not registered`, { deviceId });
    }
    return device;
  }

  #keyAt(device: DeviceRecord, second: number): string {
    let key = device.keys[0]?.key ?? "";
    for (const candidate of device.keys.slice(1)) {
      if (candidate.validFrom <= second) {
        key = candidate.key;
      }
    }
    return key;
  }

  #send(socket: WebSocket, message: ServerToDeviceMessage): void {
    socket.send(encodeServerToDevice(message));
  }

  #connected(socket: WebSocket): void {
    if (this.#offline) {
      socket.terminate();
      return;
    }
    const session: Session = { socket, challenge: createChallenge(), deviceId: null };
    this.#sessions.add(session);
    socket.on("close", () => this.#sessions.delete(session));
    socket.on("ping", (data) => {
      if (!this.#unresponsive) {
        socket.pong(data);
      }
    });
    socket.on("message", (data) => {
      if (this.#unresponsive) {
        return;
      }
      try {
        this.#receive(session, data.toString());
      } catch (error) {
        if (!(error instanceof ProtocolError)) {
          throw error;
        }
        this.#send(socket, errorMessageFrom(error));
      }
      this.#notify();
    });
    this.#send(socket, { type: "challenge", protocolVersion: PROTOCOL_VERSION, challenge: session.challenge });
  }

  #receive(session: Session, frame: string): void {
    const message = parseDeviceToServer(frame);
    if (message.type === "hello") {
      if (message.challenge !== session.challenge.toLowerCase()) {
        throw new ProtocolError("CHALLENGE_MISMATCH");
      }
      const device = this.#device(message.deviceId);
      parseCanonicalSignature(message.signature);
      const signer = recoverHelloSigner(this.domain, message.deviceId, message.challenge, message.signature);
      if (!device.keys.some((key) => key.key === signer)) {
        throw new ProtocolError("BAD_SIGNATURE", `hello signed by ${signer}, not a key of the device`, { signer });
      }
      session.deviceId = message.deviceId;
      this.#send(session.socket, { type: "welcome", deviceId: message.deviceId, lastSeq: device.lastSeq });
      return;
    }
    const signed = message.message;
    this.receivedSeqs.push(signed.seq);
    try {
      this.#receiveDeviceMessage(session, signed);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw error;
      }
      this.#send(session.socket, errorMessageFrom(error, signed.seq));
    }
  }

  #receiveDeviceMessage(session: Session, signed: SignedDeviceMessage): void {
    if (session.deviceId === null) {
      throw new ProtocolError("HELLO_REQUIRED");
    }
    if (getAddress(signed.deviceId) !== session.deviceId) {
      throw new ProtocolError("DEVICE_MISMATCH");
    }
    const device = this.#device(signed.deviceId);
    const previous = device.accepted.get(signed.seq);
    if (signed.seq <= device.lastSeq) {
      if (previous !== undefined && sameDeviceMessage(previous, signed)) {
        this.#send(session.socket, { type: "ack", seq: signed.seq });
        return;
      }
      if (previous === undefined && this.rejected.some((entry) => entry.seq === signed.seq)) {
        throw new ProtocolError(this.rejected.find((entry) => entry.seq === signed.seq)?.code ?? "SEQ_REPLAYED");
      }
      throw new ProtocolError("SEQ_REPLAYED", `seq ${signed.seq} was accepted with other content`, { seq: Number(signed.seq) });
    }
    if (signed.seq > device.lastSeq + 1n) {
      throw new ProtocolError("SEQ_GAP", `expected seq ${device.lastSeq + 1n}`, { expectedSeq: Number(device.lastSeq + 1n) });
    }
    parseCanonicalSignature(signed.signature);
    const signer = this.#hasher.recoverSigner(signed);
    const expectedKey = this.#keyAt(device, Number(signed.second));
    if (!device.keys.some((key) => key.key === signer)) {
      throw new ProtocolError("BAD_SIGNATURE", `signed by ${signer}`, { signer });
    }
    const injected = this.inject(signed);
    const code: ErrorCode | undefined = injected ?? (signer !== expectedKey ? "KEY_NOT_VALID_AT_SECOND" : undefined);
    if (code !== undefined) {
      const error = new ProtocolError(code, `rejected seq ${signed.seq}`, { seq: Number(signed.seq) });
      if (!error.retryable) {
        // A validly signed message rejected with a final code uses up its seq.
        device.lastSeq = signed.seq;
        this.rejected.push({ seq: signed.seq, code });
      }
      throw error;
    }
    device.lastSeq = signed.seq;
    device.accepted.set(signed.seq, signed);
    this.accepted.push({ ...signed, signer });
    this.#send(session.socket, { type: "ack", seq: signed.seq });
  }
}
