import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { SigningKey, Wallet, ZeroHash, hexlify } from "ethers";
import { ATTESTATION_LEAF_ENCODING, attestationLeaf, attestationLeafHash, attestationsRoot } from "../../protocol/batch-report.ts";
import { DeviceMessageHasher, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";

const hasher = new DeviceMessageHasher(protocolDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
const keys = [1, 2, 3].map((index) => new SigningKey("0x" + String(index).padStart(2, "0").repeat(32)));

function signedMessages(count: number): SignedDeviceMessage[] {
  const messages: SignedDeviceMessage[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length]!;
    const deviceId = new Wallet(key.privateKey).address;
    messages.push(hasher.sign({ kind: "attestation", deviceId, second: 1_800_000_000n + BigInt(i), seq: BigInt(i + 1) }, key));
  }
  return messages;
}

describe("attestations Merkle root", () => {
  it("leaf hash equals StandardMerkleTree's", () => {
    const [message] = signedMessages(1);
    const tree = StandardMerkleTree.of([attestationLeaf(message!)], [...ATTESTATION_LEAF_ENCODING]);
    expect(hexlify(attestationLeafHash(message!))).to.equal(tree.leafHash(attestationLeaf(message!)));
  });

  it("root equals StandardMerkleTree's for every size up to 40", () => {
    const all = signedMessages(40);
    for (let size = 1; size <= all.length; size++) {
      const messages = all.slice(0, size);
      const expected = StandardMerkleTree.of(messages.map(attestationLeaf), [...ATTESTATION_LEAF_ENCODING]).root;
      expect(attestationsRoot(messages), `size ${size}`).to.equal(expected);
    }
  });

  it("root does not depend on message order", () => {
    const messages = signedMessages(17);
    expect(attestationsRoot([...messages].reverse())).to.equal(attestationsRoot(messages));
  });

  it("empty batch commits the zero root", () => {
    expect(attestationsRoot([])).to.equal(ZeroHash);
  });
});
