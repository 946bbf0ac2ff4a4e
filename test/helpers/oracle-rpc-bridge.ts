import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { EIP1193Provider } from "hardhat/types/providers";

/**
 * A JSON-RPC endpoint on 127.0.0.1 in front of Hardhat's in-process network, so an oracle
 * node (in this process or a child) reaches the chain over real HTTP. `stop` closes the port
 * and drops open connections, as an unreachable endpoint would; `start` opens it again on
 * the same port.
 */
export class RpcBridge {
  readonly #provider: EIP1193Provider;
  #server: Server | undefined;
  #port = 0;

  constructor(provider: EIP1193Provider) {
    this.#provider = provider;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        void this.#handle(Buffer.concat(chunks).toString("utf8")).then((body) => {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(body);
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (typeof address === "object" && address !== null) {
      this.#port = (address satisfies AddressInfo).port;
    }
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) {
      return;
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(body: string): Promise<string> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    }
    if (Array.isArray(parsed)) {
      return JSON.stringify(await Promise.all(parsed.map((call: unknown) => this.#call(call))));
    }
    return JSON.stringify(await this.#call(parsed));
  }

  async #call(call: unknown): Promise<unknown> {
    if (typeof call !== "object" || call === null || !("method" in call) || typeof call.method !== "string") {
      return { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } };
    }
    const id = "id" in call ? call.id : null;
    const params = "params" in call && Array.isArray(call.params) ? call.params : [];
    try {
      const result = await this.#provider.request({ method: call.method, params });
      return { jsonrpc: "2.0", id, result };
    } catch (error) {
      const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "number" ? error.code : -32603;
      const message = error instanceof Error ? error.message : String(error);
      const data = typeof error === "object" && error !== null && "data" in error ? error.data : undefined;
      return { jsonrpc: "2.0", id, error: { code, message, data } };
    }
  }
}
