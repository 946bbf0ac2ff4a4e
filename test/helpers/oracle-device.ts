import { SigningKey, type Wallet } from "ethers";
import WebSocket from "ws";
import { DeviceMessageHasher, type DeviceMessageKind, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import type { ProtocolDomain } from "../../protocol/eip712.ts";
import { signHello } from "../../protocol/hello.ts";
import { encodeDeviceToServer, parseServerToDevice, type ServerToDeviceMessage } from "../../protocol/wire.ts";

type Waiter = { match: (message: ServerToDeviceMessage) => boolean; resolve: (message: ServerToDeviceMessage) => void };

/**
 * A device speaking the wire protocol over a real WebSocket, for oracle tests. It signs with
 * its keys, sends frames exactly as given, and returns the server's reply to each seq.
 */
export class TestDevice {
  readonly socket: WebSocket;
  readonly deviceId: string;
  readonly hasher: DeviceMessageHasher;
  readonly received: ServerToDeviceMessage[] = [];
  closeCode: number | undefined;
  readonly #waiters: Waiter[] = [];
  readonly #closed: Promise<number>;

  private constructor(socket: WebSocket, deviceId: string, domain: ProtocolDomain) {
    this.socket = socket;
    this.deviceId = deviceId;
    this.hasher = new DeviceMessageHasher(domain);
    socket.on("message", (data: Buffer) => {
      const message = parseServerToDevice(data.toString("utf8"));
      this.received.push(message);
      const index = this.#waiters.findIndex((waiter) => waiter.match(message));
      if (index >= 0) {
        const [waiter] = this.#waiters.splice(index, 1);
        waiter?.resolve(message);
      }
    });
    this.#closed = new Promise((resolve) => socket.on("close", (code) => {
      this.closeCode = code;
      resolve(code);
    }));
  }

  /** Opens a connection and waits for the challenge; `hello` false skips the hello. */
  static async connect(url: string, domain: ProtocolDomain, deviceId: string, helloKey: Wallet | undefined): Promise<{ device: TestDevice; welcome: ServerToDeviceMessage; challenge: string }> {
    const socket = new WebSocket(url);
    const device = new TestDevice(socket, deviceId, domain);
    const challengeMessage = await device.next((message) => message.type === "challenge");
    await new Promise<void>((resolve, reject) => {
      if (socket.readyState === WebSocket.OPEN) {
        resolve();
      } else {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      }
    });
    if (challengeMessage.type !== "challenge") {
      throw new Error("expected a challenge");
    }
    if (helloKey === undefined) {
      return { device, welcome: challengeMessage, challenge: challengeMessage.challenge };
    }
    const signature = signHello(domain, deviceId, challengeMessage.challenge, new SigningKey(helloKey.privateKey));
    const answer = device.next((message) => message.type === "welcome" || message.type === "error");
    device.sendRaw(encodeDeviceToServer({ type: "hello", deviceId, challenge: challengeMessage.challenge, signature }));
    return { device, welcome: await answer, challenge: challengeMessage.challenge };
  }

  /** Waits for the next message that `match` accepts; messages received before the call are not matched. */
  next(match: (message: ServerToDeviceMessage) => boolean): Promise<ServerToDeviceMessage> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Signs a message with `key`. */
  sign(kind: DeviceMessageKind, second: number | bigint, seq: number | bigint, key: Wallet): SignedDeviceMessage {
    return this.hasher.sign({ kind, deviceId: this.deviceId, second: BigInt(second), seq: BigInt(seq) }, new SigningKey(key.privateKey));
  }

  /** Sends a signed message and resolves with the ack or error for its seq. */
  send(message: SignedDeviceMessage): Promise<ServerToDeviceMessage> {
    const answer = this.next((reply) => (reply.type === "ack" || reply.type === "error") && reply.seq === message.seq);
    this.sendRaw(encodeDeviceToServer({ type: message.kind, message }));
    return answer;
  }

  /** Sends signed messages and resolves with the replies in the same order. */
  sendAll(messages: readonly SignedDeviceMessage[]): Promise<ServerToDeviceMessage[]> {
    return Promise.all(messages.map((message) => this.send(message)));
  }

  /** Sends a frame as is. */
  sendRaw(frame: string | Buffer): void {
    this.socket.send(frame);
  }

  /** Resolves with the close code once the connection is closed. */
  closed(): Promise<number> {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) {
      this.socket.close();
      await this.#closed;
    }
  }
}

/** Signs attestations for consecutive seconds [fromSecond, toSecond] with seqs from `firstSeq`. */
export function attestRun(device: TestDevice, key: Wallet, fromSecond: number, toSecond: number, firstSeq: number): SignedDeviceMessage[] {
  const messages: SignedDeviceMessage[] = [];
  for (let second = fromSecond; second <= toSecond; second++) {
    messages.push(device.sign("attestation", second, firstSeq + (second - fromSecond), key));
  }
  return messages;
}
