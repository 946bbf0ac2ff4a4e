import { expect } from "chai";
import { JsonRpcProvider, Network, Wallet, id, type TransactionReceipt } from "ethers";
import { decodeRevert } from "../../oracle-node/batches/revert-reason.ts";
import { TxSender, type TxSenderOptions } from "../../oracle-node/tx-sender.ts";
import { TOKEN, createOracleChain, memoryLogger, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";

/** Receives the value transfers the tests send. */
const RECIPIENT = new Wallet(id("central-electric tx-sender test recipient")).address;

type TestSender = {
  sender: TxSender;
  wallet: Wallet;
  provider: JsonRpcProvider;
  lines: Array<Record<string, unknown>>;
};

/** Creates a sender for a fresh account holding 10 ETH, reaching the chain over its RPC bridge. */
async function createSender(chain: OracleChain, label: string, options: Partial<Pick<TxSenderOptions, "confirmations" | "gasBumpAfterRealMs" | "maxGasBumps">> = {}): Promise<TestSender> {
  const network = Network.from(chain.chainId);
  const provider = new JsonRpcProvider(chain.bridge.url, network, { staticNetwork: network, pollingInterval: 50, cacheTimeout: -1 });
  const wallet = new Wallet(id(`central-electric tx-sender test ${label}`), provider);
  await (await chain.board.sendTransaction({ to: wallet.address, value: 10n * TOKEN })).wait();
  const { logger, lines } = memoryLogger("debug");
  const sender = new TxSender({
    provider,
    wallet,
    logger,
    confirmations: options.confirmations ?? 0,
    gasBumpAfterRealMs: options.gasBumpAfterRealMs ?? 60_000,
    pollIntervalRealMs: 50,
    maxGasBumps: options.maxGasBumps ?? 10,
  });
  return { sender, wallet, provider, lines };
}

/** Stops mining blocks on its own; the test mines with `mine`. */
async function stopMining(chain: OracleChain): Promise<void> {
  await chain.provider.request({ method: "evm_setIntervalMining", params: [0] });
  await chain.provider.request({ method: "evm_setAutomine", params: [false] });
}

/** Mines one block and returns its number. */
async function mine(chain: OracleChain): Promise<number> {
  await chain.provider.request({ method: "evm_mine", params: [] });
  return chain.ethers.provider.getBlockNumber();
}

/** Returns the nonce of a transaction the node has stored (pending or mined). */
async function nonceOf(provider: JsonRpcProvider, hash: string): Promise<number> {
  const transaction = await provider.getTransaction(hash);
  if (transaction === null) {
    throw new Error(`transaction ${hash} is not known`);
  }
  return transaction.nonce;
}

describe("transaction sender", () => {
  let chain: OracleChain;
  let provider: JsonRpcProvider | undefined;

  beforeEach(async () => {
    chain = await createOracleChain();
  });

  afterEach(async () => {
    provider?.destroy();
    provider = undefined;
    await chain.close();
  });

  it("gives concurrent sends consecutive nonces", async () => {
    const test = await createSender(chain, "concurrent");
    provider = test.provider;
    await stopMining(chain);
    const hashes: string[] = [];
    const sends = [1n, 2n, 3n, 4n, 5n].map((value) => test.sender.send({ to: RECIPIENT, value }, { transfer: value }, (hash) => hashes.push(hash)));
    await waitFor("five broadcast transactions", () => (hashes.length === 5 ? true : undefined));

    const nonces = await Promise.all(hashes.map((hash) => nonceOf(test.provider, hash)));
    expect([...nonces].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4]);
    const block = await mine(chain);
    const receipts = await Promise.all(sends);
    expect(receipts.map((receipt) => [receipt.status, receipt.blockNumber])).to.deep.equal(Array(5).fill([1, block]));
    expect(await chain.ethers.provider.getBalance(RECIPIENT)).to.equal(15n);
  });

  it("leaves no nonce gap after sends that fail before broadcast", async () => {
    const test = await createSender(chain, "no-gap");
    provider = test.provider;
    await stopMining(chain);
    const withdraw = chain.pool.interface.encodeFunctionData("withdraw", [test.wallet.address, 1n]);
    const latestBlock = await chain.ethers.provider.getBlock("latest");
    if (latestBlock === null) {
      throw new Error("no latest block");
    }
    const hashes: string[] = [];
    const first = test.sender.send({ to: RECIPIENT, value: 1n }, { transfer: 1 }, (hash) => hashes.push(hash));
    // Fails eth_estimateGas: only the board may withdraw.
    const failsEstimate = test.sender.send({ to: chain.poolAddress, data: withdraw }, { transfer: "withdraw" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Passes signing but the node rejects it: more gas than a block holds.
    const rejected = test.sender.send({ to: RECIPIENT, value: 2n, gasLimit: latestBlock.gasLimit + 1n }, { transfer: 2 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const last = test.sender.send({ to: RECIPIENT, value: 4n }, { transfer: 4 }, (hash) => hashes.push(hash));

    const estimateError = await failsEstimate;
    expect(decodeRevert(estimateError, chain.pool.interface)?.name).to.equal("AccessControlUnauthorizedAccount");
    expect(await rejected).to.be.instanceOf(Error);
    await waitFor("two broadcast transactions", () => (hashes.length === 2 ? true : undefined));
    const nonces = await Promise.all(hashes.map((hash) => nonceOf(test.provider, hash)));
    expect([...nonces].sort((a, b) => a - b)).to.deep.equal([0, 1]);

    await mine(chain);
    const mined = await Promise.all([first, last]);
    expect(mined.map((receipt) => receipt.status)).to.deep.equal([1, 1]);
    // The next send takes the nonce after them and is mined.
    const next = test.sender.send({ to: RECIPIENT, value: 8n }, { transfer: 8 }, (hash) => hashes.push(hash));
    await waitFor("the third broadcast transaction", () => (hashes.length === 3 ? true : undefined));
    const block = await mine(chain);
    const receipt = await next;
    expect(await nonceOf(test.provider, receipt.hash)).to.equal(2);
    expect([receipt.status, receipt.blockNumber]).to.deep.equal([1, block]);
    expect(await test.provider.getTransactionCount(test.wallet.address, "latest")).to.equal(3);
    expect(await chain.ethers.provider.getBalance(RECIPIENT)).to.equal(13n);
  });

  it("replaces a pending transaction with fees 12.5% higher", async () => {
    const test = await createSender(chain, "bump", { gasBumpAfterRealMs: 200, maxGasBumps: 1 });
    provider = test.provider;
    await stopMining(chain);
    const balanceBefore = await test.provider.getBalance(test.wallet.address);
    // No block is mined until the end, so the fee data stays what the sender reads.
    const feesBefore = await test.provider.getFeeData();
    const hashes: string[] = [];
    const sent = test.sender.send({ to: RECIPIENT, value: 7n }, { transfer: 7 }, (hash) => hashes.push(hash));
    await waitFor("a replacement", () => (hashes.length === 2 ? true : undefined));
    const [firstHash, replacementHash] = hashes;
    if (firstHash === undefined || replacementHash === undefined) {
      throw new Error("expected two hashes");
    }
    // The node dropped the original when the replacement arrived, so its fees come from the sender's log.
    const originalLine = test.lines.find((line) => line.msg === "transaction sent" && line.txHash === firstHash);
    const replacement = await test.provider.getTransaction(replacementHash);
    if (originalLine === undefined || replacement === null || replacement.maxFeePerGas === null || replacement.maxPriorityFeePerGas === null) {
      throw new Error("expected the original's log line and the pending replacement");
    }
    const originalMaxFee = BigInt(String(originalLine.maxFeePerGas));
    const originalPriorityFee = BigInt(String(originalLine.maxPriorityFeePerGas));
    expect(originalMaxFee).to.equal(feesBefore.maxFeePerGas);
    expect(originalPriorityFee).to.equal(feesBefore.maxPriorityFeePerGas);
    expect(replacement.nonce).to.equal(originalLine.nonce);
    expect(replacement.maxFeePerGas).to.equal(originalMaxFee + originalMaxFee / 8n + 1n);
    expect(replacement.maxPriorityFeePerGas).to.equal(originalPriorityFee + originalPriorityFee / 8n + 1n);
    expect(replacement.maxFeePerGas * 1000n >= originalMaxFee * 1125n).to.equal(true);
    expect(replacement.maxPriorityFeePerGas * 1000n >= originalPriorityFee * 1125n).to.equal(true);
    expect(test.lines.some((line) => line.msg === "transaction re-sent with higher fees" && line.txHash === replacementHash)).to.equal(true);

    const block = await mine(chain);
    const receipt: TransactionReceipt = await sent;
    expect([receipt.hash, receipt.blockNumber, receipt.status]).to.deep.equal([replacementHash, block, 1]);
    expect(await test.provider.getTransactionReceipt(firstHash)).to.equal(null);
    const minedBlock = await chain.ethers.provider.getBlock(block);
    expect(minedBlock?.transactions).to.deep.equal([replacementHash]);
    expect(await test.provider.getTransactionCount(test.wallet.address, "latest")).to.equal(1);
    expect(await test.provider.getBalance(test.wallet.address)).to.equal(balanceBefore - 7n - receipt.gasUsed * receipt.gasPrice);
  });

  it("resolves only after the confirmations", async () => {
    const test = await createSender(chain, "confirmations", { confirmations: 2 });
    provider = test.provider;
    await stopMining(chain);
    let resolved: TransactionReceipt | undefined;
    const hashes: string[] = [];
    const sent = test.sender.send({ to: RECIPIENT, value: 3n }, { transfer: 3 }, (hash) => hashes.push(hash)).then((receipt) => (resolved = receipt));
    await waitFor("the broadcast", () => (hashes.length === 1 ? true : undefined));

    const minedIn = await mine(chain);
    const depthLine = (depth: number) => (line: Record<string, unknown>) => line.msg === "waiting for confirmations" && line.blockNumber === minedIn && line.depth === depth;
    await waitFor("the sender to see the receipt", () => (test.lines.some(depthLine(0)) || resolved !== undefined ? true : undefined));
    expect(resolved).to.equal(undefined);
    await mine(chain);
    await waitFor("the sender to see one block on top", () => (test.lines.some(depthLine(1)) || resolved !== undefined ? true : undefined));
    expect(resolved).to.equal(undefined);
    await mine(chain);
    const receipt = await sent;
    expect([receipt.hash, receipt.blockNumber, receipt.status]).to.deep.equal([hashes[0], minedIn, 1]);
  });
});
