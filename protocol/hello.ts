import { SigningKey, getAddress, hexlify, randomBytes, recoverAddress } from "ethers";
import { HELLO_TYPEHASH, domainSeparator, hashStaticStruct, typedDataDigest, type ProtocolDomain } from "./eip712.ts";

/** Creates a fresh 32-byte challenge for a new connection. */
export function createChallenge(): string {
  return hexlify(randomBytes(32));
}

/** Computes the EIP-712 digest of Hello(deviceId, challenge). */
export function helloDigest(domain: ProtocolDomain, deviceId: string, challenge: string): string {
  const structHash = hashStaticStruct(HELLO_TYPEHASH, ["address", "bytes32"], [getAddress(deviceId), challenge]);
  return typedDataDigest(domainSeparator(domain), structHash);
}

/** Signs the server's challenge, proving the device has one of its registered keys. */
export function signHello(domain: ProtocolDomain, deviceId: string, challenge: string, key: SigningKey): string {
  return key.sign(helloDigest(domain, deviceId, challenge)).serialized;
}

/** Recovers the key address that signed a hello. */
export function recoverHelloSigner(domain: ProtocolDomain, deviceId: string, challenge: string, signature: string): string {
  return recoverAddress(helloDigest(domain, deviceId, challenge), signature);
}
