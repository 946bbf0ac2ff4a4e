import type { DeviceMessageHasher } from "../protocol/device-message.ts";
import { AgentError } from "./agent-error.ts";
import type { AgentStore, QueuedMessage, StoredDomain } from "./agent-store.ts";
import type { KeyRing } from "./key-ring.ts";
import type { Logger } from "./logger.ts";

/** Queued messages read from the database at a time while checking or re-signing the queue. */
const PAGE_SIZE = 1_000;

export type DomainBindingOptions = {
  store: AgentStore;
  keys: KeyRing;
  /** Hasher of the domain the agent runs with now. */
  hasher: DeviceMessageHasher;
  deviceId: string;
  dataDir: string;
  keystorePath: string;
  logger: Logger;
};

function sameDomain(a: StoredDomain, b: StoredDomain): boolean {
  return a.chainId === b.chainId && a.poolAddress.toLowerCase() === b.poolAddress.toLowerCase();
}

function describeDomain(domain: StoredDomain): string {
  return `pool ${domain.poolAddress} on chain ${domain.chainId}`;
}

/** Calls `visit` with every queued message in seq order. */
function forEachQueued(store: AgentStore, visit: (message: QueuedMessage) => void): void {
  let afterSeq = 0;
  for (;;) {
    const page = store.queuedAfter(afterSeq, PAGE_SIZE);
    for (const message of page) {
      visit(message);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE_SIZE) {
      return;
    }
    afterSeq = last.seq;
  }
}

/**
 * Returns why the queued messages must keep their domain, or undefined when no oracle can
 * hold any of them. That needs nothing acknowledged, nothing rejected, and no oracle session
 * under the stored domain while messages were queued, because an acknowledgement lost with
 * its connection leaves an accepted message in the queue.
 */
function reasonToKeepDomain(store: AgentStore): string | undefined {
  const acknowledged = store.acknowledgedCount();
  if (acknowledged > 0) {
    return `the oracle already acknowledged ${acknowledged} of its messages`;
  }
  const rejected = store.rejectedCount();
  if (rejected > 0) {
    return `the oracle already rejected ${rejected} of its messages, which uses up their seqs`;
  }
  if (store.wasWelcomed() && store.queuedCount() > 0) {
    return "an oracle verified its hello, so queued messages may have reached it";
  }
  return undefined;
}

/** Reports whether `message` verifies under the hasher's domain with the key it was signed with. */
function signedForDomain(hasher: DeviceMessageHasher, deviceId: string, message: QueuedMessage): boolean {
  try {
    const signer = hasher.recoverSigner({ kind: message.kind, deviceId, second: BigInt(message.second), seq: BigInt(message.seq), signature: message.signature });
    return signer.toLowerCase() === message.keyAddress.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Re-signs every queued message under the hasher's domain, keeping seq, kind and second;
 * call inside a transaction. Returns how many signatures changed. Signing is deterministic
 * (RFC 6979 in ethers v6), so a message already signed for this domain keeps its signature.
 */
function reSignQueue(options: DomainBindingOptions): number {
  const { store, keys, hasher, deviceId } = options;
  let changed = 0;
  forEachQueued(store, (message) => {
    const key = keys.keyAt(message.second);
    const signed = hasher.sign({ kind: message.kind, deviceId, second: BigInt(message.second), seq: BigInt(message.seq) }, key.signingKey);
    if (signed.signature !== message.signature || key.address !== message.keyAddress) {
      store.replaceSignature(message.seq, signed.signature, key.address);
      changed += 1;
    }
  });
  return changed;
}

/**
 * Binds the agent's state to the EIP-712 domain it runs with (chain id and PayoutPool
 * address), so that messages signed for one pool are never sent to another.
 *
 * The first run stores the domain. A later run with another domain re-signs every queued
 * message under the new domain, with the same seq and second, if no oracle can hold any of
 * them. Otherwise it throws DATA_DIR_DOMAIN_MISMATCH and changes nothing. A state written
 * before domains were stored is bound to the current domain, and its queued messages that
 * were signed for another one are re-signed under the same rule. Returns how many
 * signatures changed.
 */
export function bindStateToDomain(options: DomainBindingOptions): number {
  const { store, hasher, logger } = options;
  const current: StoredDomain = { chainId: hasher.domain.chainId, poolAddress: hasher.domain.verifyingContract };
  const stored = store.storedDomain();
  if (stored !== undefined && sameDomain(stored, current)) {
    return 0;
  }

  const reason = reasonToKeepDomain(store);
  if (reason !== undefined) {
    const oldest = store.queuedAfter(0, 1)[0];
    // NOTE: for a state without a recorded domain only the oldest queued message is checked,
    // because recovering every signature of a full queue takes minutes. The oracle expects
    // that message next, so a foreign signature there is what blocks delivery.
    if (stored === undefined && (oldest === undefined || signedForDomain(hasher, options.deviceId, oldest))) {
      store.transaction(() => store.setDomain(current));
      return 0;
    }
    throw domainMismatchError(options, stored, current, reason);
  }

  const reSigned = store.transaction(() => {
    const changed = reSignQueue(options);
    store.setDomain(current);
    return changed;
  });
  if (stored !== undefined || reSigned > 0) {
    logger.warn("agent state moved to another EIP-712 domain: no oracle had acknowledged a queued message, so the queue was re-signed with the same seqs and seconds", {
      previousChainId: stored?.chainId ?? null,
      previousPool: stored?.poolAddress ?? null,
      chainId: current.chainId,
      pool: current.poolAddress,
      reSigned,
    });
  }
  return reSigned;
}

function domainMismatchError(options: DomainBindingOptions, stored: StoredDomain | undefined, current: StoredDomain, reason: string): AgentError {
  const { dataDir, keystorePath, store } = options;
  const fix =
    `For another deployment, start with a new --data-dir (add --keystore ${keystorePath} to keep this device key). ` +
    `Keep ${dataDir}: it holds ${store.queuedCount()} signed messages not yet acknowledged by the old pool's oracle.`;
  const details = {
    dataDir,
    chainId: current.chainId.toString(),
    poolAddress: current.poolAddress,
    storedChainId: stored?.chainId.toString() ?? null,
    storedPoolAddress: stored?.poolAddress ?? null,
    acknowledged: store.acknowledgedCount(),
    rejected: store.rejectedCount(),
    queued: store.queuedCount(),
  };
  if (stored === undefined) {
    return new AgentError(
      "DATA_DIR_DOMAIN_MISMATCH",
      `The oldest queued message in ${dataDir} is not signed for ${describeDomain(current)}, and the data directory did not record the pool it was signed for. ` +
        `Its messages cannot be signed again for this pool because ${reason}. Start with the --chain-id and --pool-address this data directory was used with. ${fix}`,
      details,
    );
  }
  return new AgentError(
    "DATA_DIR_DOMAIN_MISMATCH",
    `${dataDir} belongs to ${describeDomain(stored)}, not ${describeDomain(current)}. ` +
      `Its messages cannot be signed again for another pool because ${reason}. ${fix}`,
    details,
  );
}
