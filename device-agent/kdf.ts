import { scrypt as nodeScrypt } from "node:crypto";
import { scrypt } from "ethers";

/** Key-derivation cost of a keystore: "strong" for real devices, "light" for throwaway demo and test keys. */
export const KDF_COSTS = {
  // ethers' default for Wallet.encrypt. It took about 0.4 s and 128 MiB to unlock on a 2-core AMD EPYC virtual machine.
  strong: { N: 131_072, r: 8, p: 1 },
  // Unlocks in milliseconds; only for keys that protect nothing of value.
  light: { N: 1_024, r: 8, p: 1 },
} as const;

export type KdfCost = keyof typeof KDF_COSTS;

/** Reports whether `value` names a key-derivation cost. */
export function isKdfCost(value: unknown): value is KdfCost {
  return typeof value === "string" && Object.hasOwn(KDF_COSTS, value);
}

let registered = false;

/**
 * Makes ethers derive keystore keys with Node's native scrypt. The result is identical to
 * ethers' own implementation, but the 128 MiB work area of the strong cost is allocated
 * outside the JavaScript heap and released right after, which keeps the agent's resident
 * memory low on a small single-board computer.
 */
export function useNativeScrypt(): void {
  if (registered) {
    return;
  }
  scrypt.register(
    (password, salt, N, r, p, keyLength) =>
      new Promise<Uint8Array>((resolve, reject) => {
        nodeScrypt(password, salt, keyLength, { N, r, p, maxmem: 128 * N * r * p + 32 * 1024 * 1024 }, (error, derived) => {
          if (error !== null) {
            reject(error);
            return;
          }
          resolve(new Uint8Array(derived));
        });
      }),
  );
  registered = true;
}
