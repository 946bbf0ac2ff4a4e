import { AbiCoder, TypedDataEncoder, concat, getAddress, keccak256, toUtf8Bytes, type TypedDataDomain, type TypedDataField } from "ethers";

/** EIP-712 domain name and version shared by every signed message of the protocol. */
export const DOMAIN_NAME = "Central Electric";
export const DOMAIN_VERSION = "1";

/** The EIP-712 domain: attestations, restoration notices, hellos and batch reports are bound to the pool, payout-wallet changes to the registry. */
export type ProtocolDomain = {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: string;
};

/** Builds the domain for messages verified against `verifyingContract` on chain `chainId`. */
export function protocolDomain(chainId: bigint | number, verifyingContract: string): ProtocolDomain {
  return {
    name: DOMAIN_NAME,
    version: DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: getAddress(verifyingContract),
  };
}

/** Converts a protocol domain to the shape ethers' signer and encoder expect. */
export function toEthersDomain(domain: ProtocolDomain): TypedDataDomain {
  return { ...domain };
}

/** EIP-712 type definitions, keyed by primary type, in the form ethers and eth-sig-util take. */
export const ATTESTATION_TYPES: Record<string, TypedDataField[]> = {
  Attestation: [
    { name: "deviceId", type: "address" },
    { name: "second", type: "uint64" },
    { name: "seq", type: "uint64" },
  ],
};

export const RESTORATION_TYPES: Record<string, TypedDataField[]> = {
  Restoration: [
    { name: "deviceId", type: "address" },
    { name: "second", type: "uint64" },
    { name: "seq", type: "uint64" },
  ],
};

export const HELLO_TYPES: Record<string, TypedDataField[]> = {
  Hello: [
    { name: "deviceId", type: "address" },
    { name: "challenge", type: "bytes32" },
  ],
};

export const PAYOUT_WALLET_CHANGE_TYPES: Record<string, TypedDataField[]> = {
  PayoutWalletChange: [
    { name: "deviceId", type: "address" },
    { name: "newWallet", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const BATCH_REPORT_TYPES: Record<string, TypedDataField[]> = {
  BatchReport: [
    { name: "configDigest", type: "bytes32" },
    { name: "sequence", type: "uint64" },
    { name: "attestationsRoot", type: "bytes32" },
    { name: "entries", type: "Entry[]" },
  ],
  Entry: [
    { name: "deviceId", type: "address" },
    { name: "fromSecond", type: "uint64" },
    { name: "toSecond", type: "uint64" },
  ],
};

/** The type strings that Solidity hashes; a test checks them against the definitions above. */
export const ATTESTATION_TYPE_STRING = "Attestation(address deviceId,uint64 second,uint64 seq)";
export const RESTORATION_TYPE_STRING = "Restoration(address deviceId,uint64 second,uint64 seq)";
export const HELLO_TYPE_STRING = "Hello(address deviceId,bytes32 challenge)";
export const PAYOUT_WALLET_CHANGE_TYPE_STRING = "PayoutWalletChange(address deviceId,address newWallet,uint256 nonce,uint256 deadline)";
export const ENTRY_TYPE_STRING = "Entry(address deviceId,uint64 fromSecond,uint64 toSecond)";
export const BATCH_REPORT_TYPE_STRING =
  "BatchReport(bytes32 configDigest,uint64 sequence,bytes32 attestationsRoot,Entry[] entries)" + ENTRY_TYPE_STRING;

export const ATTESTATION_TYPEHASH = keccak256(toUtf8Bytes(ATTESTATION_TYPE_STRING));
export const RESTORATION_TYPEHASH = keccak256(toUtf8Bytes(RESTORATION_TYPE_STRING));
export const HELLO_TYPEHASH = keccak256(toUtf8Bytes(HELLO_TYPE_STRING));

/** Computes the EIP-712 domain separator. */
export function domainSeparator(domain: ProtocolDomain): string {
  return TypedDataEncoder.hashDomain(toEthersDomain(domain));
}

/** Computes the digest that is signed: keccak256(0x1901 ‖ domainSeparator ‖ structHash). */
export function typedDataDigest(separator: string, structHash: string): string {
  return keccak256(concat(["0x1901", separator, structHash]));
}

const abi = AbiCoder.defaultAbiCoder();

/** Computes hashStruct of a message whose fields are all static (address, uint, bytes32). */
export function hashStaticStruct(typeHash: string, types: readonly string[], values: readonly unknown[]): string {
  return keccak256(abi.encode(["bytes32", ...types], [typeHash, ...values]));
}
