// Child process of the oracle ingest benchmark: opens device WebSocket connections to an
// oracle node, pre-signs attestations before the measured run, then sends them as fast as the
// node acknowledges them. Driven over IPC by scripts/bench/oracle-ingest.ts.
import { createRequire } from "node:module";
import { getAddress, getBytes, hexlify, keccak256, id } from "ethers";
import WebSocket from "ws";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { helloDigest } from "../../protocol/hello.ts";
import { parseServerToDevice } from "../../protocol/wire.ts";

type Secp256k1 = {
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
};
const secp256k1: Secp256k1 = createRequire(import.meta.url)("secp256k1");

/** Private key of benchmark device `index`; the bench registers the same devices. */
export function benchDeviceKey(label: string, index: number): Uint8Array {
  return getBytes(id(`central-electric bench device ${label} ${index}`));
}

/** Address of a private key, with libsecp256k1. */
export function addressOf(privateKey: Uint8Array): string {
  return getAddress(hexlify(getBytes(keccak256(secp256k1.publicKeyCreate(privateKey, false).subarray(1))).subarray(12)));
}

function sign(digest: string, privateKey: Uint8Array): string {
  const { signature, recid } = secp256k1.ecdsaSign(getBytes(digest), privateKey);
  const out = new Uint8Array(65);
  out.set(signature, 0);
  out[64] = recid + 27;
  return hexlify(out);
}

/** A connected device; `frames` are the UTF-8 bytes of its pre-signed messages, in seq order. */
type Device = { key: Uint8Array; address: string; socket: WebSocket; frames: Buffer[]; acked: number; errors: number };

type Command =
  | { cmd: "connect"; url: string; chainId: string; pool: string; label: string; count: number; perDevice: number; firstSecond: number }
  | { cmd: "blast"; window: number }
  | { cmd: "exit" };

function isCommand(value: unknown): value is Command {
  return typeof value === "object" && value !== null && "cmd" in value && typeof value.cmd === "string";
}

let devices: Device[] = [];

async function connectDevice(url: string, domain: ReturnType<typeof protocolDomain>, key: Uint8Array): Promise<Device> {
  const address = addressOf(key);
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const device: Device = { key, address, socket, frames: [], acked: 0, errors: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.on("message", (data: Buffer) => {
      const message = parseServerToDevice(data.toString("utf8"));
      if (message.type === "challenge") {
        const signature = sign(helloDigest(domain, address, message.challenge), key);
        socket.send(JSON.stringify({ type: "hello", deviceId: address, challenge: message.challenge, signature }));
      } else if (message.type === "welcome") {
        socket.removeAllListeners("message");
        resolve();
      } else if (message.type === "error") {
        reject(new Error(`hello of ${address} rejected: ${message.code}`));
      }
    });
  });
  return device;
}

async function connect(command: Extract<Command, { cmd: "connect" }>): Promise<void> {
  const domain = protocolDomain(BigInt(command.chainId), command.pool);
  const hasher = new DeviceMessageHasher(domain);
  const keys = Array.from({ length: command.count }, (_, index) => benchDeviceKey(command.label, index));
  devices = [];
  // Connect in slices, so the server's accept queue is not flooded by thousands at once.
  for (let start = 0; start < keys.length; start += 200) {
    devices.push(...(await Promise.all(keys.slice(start, start + 200).map((key) => connectDevice(command.url, domain, key)))));
  }
  for (const device of devices) {
    for (let i = 0; i < command.perDevice; i++) {
      const second = command.firstSecond + i;
      const seq = i + 1;
      const digest = hasher.digest({ kind: "attestation", deviceId: device.address, second: BigInt(second), seq: BigInt(seq) });
      const frame = JSON.stringify({ type: "attestation", deviceId: device.address, second, seq, signature: sign(digest, device.key) });
      device.frames.push(Buffer.from(frame, "utf8"));
    }
  }
  process.send?.({ event: "connected", count: devices.length, messages: devices.reduce((sum, device) => sum + device.frames.length, 0) });
}

async function blast(window: number): Promise<void> {
  // Frames are sent as text; the bytes were encoded before the measured run.
  const TEXT = { binary: false };
  const ACK_PREFIX = Buffer.from('{"type":"ack"', "utf8");
  const started = performance.now();
  await Promise.all(
    devices.map(
      (device) =>
        new Promise<void>((resolve) => {
          let next = 0;
          const total = device.frames.length;
          const pump = (): void => {
            while (next < total && next - (device.acked + device.errors) < window) {
              const frame = device.frames[next++];
              if (frame !== undefined) {
                device.socket.send(frame, TEXT);
              }
            }
          };
          device.socket.on("message", (data: Buffer) => {
            // Only the kind of reply is counted, so comparing its first bytes is enough.
            if (data.subarray(0, ACK_PREFIX.length).equals(ACK_PREFIX)) {
              device.acked++;
            } else {
              device.errors++;
            }
            if (device.acked + device.errors >= total) {
              resolve();
            } else {
              pump();
            }
          });
          if (total === 0) {
            resolve();
          }
          pump();
        }),
    ),
  );
  const elapsedMs = performance.now() - started;
  process.send?.({
    event: "done",
    acked: devices.reduce((sum, device) => sum + device.acked, 0),
    errors: devices.reduce((sum, device) => sum + device.errors, 0),
    elapsedMs,
  });
}

process.on("message", (message: unknown) => {
  if (!isCommand(message)) {
    return;
  }
  const run = async (): Promise<void> => {
    if (message.cmd === "connect") {
      await connect(message);
    } else if (message.cmd === "blast") {
      await blast(message.window);
    } else {
      for (const device of devices) {
        device.socket.terminate();
      }
      process.exit(0);
    }
  };
  run().catch((error: unknown) => {
    process.send?.({ event: "failed", error: error instanceof Error ? error.message : String(error) });
  });
});
