import { SignTypedDataVersion, TypedDataUtils, recoverTypedSignature } from "@metamask/eth-sig-util";
import { expect } from "chai";
import { SigningKey, TypedDataEncoder, Wallet, getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";
import {
  ATTESTATION_TYPES,
  ATTESTATION_TYPE_STRING,
  BATCH_REPORT_TYPES,
  BATCH_REPORT_TYPE_STRING,
  HELLO_TYPES,
  HELLO_TYPE_STRING,
  PAYOUT_WALLET_CHANGE_TYPES,
  PAYOUT_WALLET_CHANGE_TYPE_STRING,
  RESTORATION_TYPES,
  RESTORATION_TYPE_STRING,
  protocolDomain,
  toEthersDomain,
} from "../../protocol/eip712.ts";
import { DeviceMessageHasher, hashDeviceMessageStruct } from "../../protocol/device-message.ts";
import { batchReportDigest, signBatchReport, type BatchReport } from "../../protocol/batch-report.ts";
import { helloDigest, signHello } from "../../protocol/hello.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DEVICE_KEY = new SigningKey("0x" + "11".repeat(32));
const DEVICE_ID = new Wallet(DEVICE_KEY.privateKey).address;
const domain = protocolDomain(31337n, POOL);

const EIP712_DOMAIN_TYPE = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
];

function metamaskDomain() {
  return { name: domain.name, version: domain.version, chainId: Number(domain.chainId), verifyingContract: domain.verifyingContract };
}

describe("protocol EIP-712 definitions", () => {
  it("type strings match the field definitions", () => {
    expect(TypedDataEncoder.from(ATTESTATION_TYPES).encodeType("Attestation")).to.equal(ATTESTATION_TYPE_STRING);
    expect(TypedDataEncoder.from(RESTORATION_TYPES).encodeType("Restoration")).to.equal(RESTORATION_TYPE_STRING);
    expect(TypedDataEncoder.from(HELLO_TYPES).encodeType("Hello")).to.equal(HELLO_TYPE_STRING);
    expect(TypedDataEncoder.from(PAYOUT_WALLET_CHANGE_TYPES).encodeType("PayoutWalletChange")).to.equal(PAYOUT_WALLET_CHANGE_TYPE_STRING);
    expect(TypedDataEncoder.from(BATCH_REPORT_TYPES).encodeType("BatchReport")).to.equal(BATCH_REPORT_TYPE_STRING);
  });

  it("hand-laid attestation struct hash equals the generic encoder's", () => {
    const cases = [
      { second: 0n, seq: 1n },
      { second: 1_733_300_000n, seq: 42n },
      { second: (1n << 64n) - 1n, seq: (1n << 53n) + 7n },
    ];
    for (const { second, seq } of cases) {
      for (const kind of ["attestation", "restoration"] as const) {
        const types = kind === "attestation" ? ATTESTATION_TYPES : RESTORATION_TYPES;
        const expected = TypedDataEncoder.from(types).hash({ deviceId: DEVICE_ID, second, seq });
        expect(hashDeviceMessageStruct({ kind, deviceId: DEVICE_ID, second, seq })).to.equal(expected);
      }
    }
  });

  it("attestation digest matches ethers and eth-sig-util", () => {
    const hasher = new DeviceMessageHasher(domain);
    const message = { kind: "attestation" as const, deviceId: DEVICE_ID, second: 1_733_300_123n, seq: 9n };
    const value = { deviceId: DEVICE_ID, second: message.second, seq: message.seq };
    const viaEthers = TypedDataEncoder.hash(toEthersDomain(domain), ATTESTATION_TYPES, value);
    const viaMetamask = hexlify(
      TypedDataUtils.eip712Hash(
        {
          types: { EIP712Domain: EIP712_DOMAIN_TYPE, Attestation: ATTESTATION_TYPES.Attestation ?? [] },
          primaryType: "Attestation",
          domain: metamaskDomain(),
          message: { deviceId: DEVICE_ID, second: message.second.toString(), seq: message.seq.toString() },
        },
        SignTypedDataVersion.V4,
      ),
    );
    expect(hasher.digest(message)).to.equal(viaEthers);
    expect(hasher.digest(message)).to.equal(viaMetamask);
  });

  it("device signature verifies in eth-sig-util", () => {
    const hasher = new DeviceMessageHasher(domain);
    const signed = hasher.sign({ kind: "restoration", deviceId: DEVICE_ID, second: 1_733_309_000n, seq: 3_601n }, DEVICE_KEY);
    const recovered = recoverTypedSignature({
      data: {
        types: { EIP712Domain: EIP712_DOMAIN_TYPE, Restoration: RESTORATION_TYPES.Restoration ?? [] },
        primaryType: "Restoration",
        domain: metamaskDomain(),
        message: { deviceId: DEVICE_ID, second: "1733309000", seq: "3601" },
      },
      signature: signed.signature,
      version: SignTypedDataVersion.V4,
    });
    expect(recovered.toLowerCase()).to.equal(DEVICE_ID.toLowerCase());
    expect(hasher.recoverSigner(signed)).to.equal(DEVICE_ID);
  });

  it("hello signature verifies in eth-sig-util", () => {
    const challenge = keccak256(toUtf8Bytes("challenge"));
    const signature = signHello(domain, DEVICE_ID, challenge, DEVICE_KEY);
    const recovered = recoverTypedSignature({
      data: {
        types: { EIP712Domain: EIP712_DOMAIN_TYPE, Hello: HELLO_TYPES.Hello ?? [] },
        primaryType: "Hello",
        domain: metamaskDomain(),
        message: { deviceId: DEVICE_ID, challenge },
      },
      signature,
      version: SignTypedDataVersion.V4,
    });
    expect(recovered.toLowerCase()).to.equal(DEVICE_ID.toLowerCase());
    expect(helloDigest(domain, DEVICE_ID, challenge)).to.equal(
      TypedDataEncoder.hash(toEthersDomain(domain), HELLO_TYPES, { deviceId: DEVICE_ID, challenge }),
    );
  });

  it("batch report signature verifies in eth-sig-util", async () => {
    const committee = new Wallet("0x" + "22".repeat(32));
    const report: BatchReport = {
      configDigest: keccak256(toUtf8Bytes("config")),
      sequence: 7n,
      attestationsRoot: keccak256(toUtf8Bytes("root")),
      entries: [
        { deviceId: DEVICE_ID, fromSecond: 100n, toSecond: 3_700n },
        { deviceId: committee.address, fromSecond: 5n, toSecond: 5n },
      ],
    };
    const signature = await signBatchReport(domain, report, committee);
    const recovered = recoverTypedSignature({
      data: {
        types: {
          EIP712Domain: EIP712_DOMAIN_TYPE,
          BatchReport: BATCH_REPORT_TYPES.BatchReport ?? [],
          Entry: BATCH_REPORT_TYPES.Entry ?? [],
        },
        primaryType: "BatchReport",
        domain: metamaskDomain(),
        message: {
          configDigest: report.configDigest,
          sequence: "7",
          attestationsRoot: report.attestationsRoot,
          entries: report.entries.map((entry) => ({ deviceId: entry.deviceId, fromSecond: entry.fromSecond.toString(), toSecond: entry.toSecond.toString() })),
        },
      },
      signature,
      version: SignTypedDataVersion.V4,
    });
    expect(recovered.toLowerCase()).to.equal(committee.address.toLowerCase());
    expect(getBytes(batchReportDigest(domain, report))).to.have.length(32);
  });
});
