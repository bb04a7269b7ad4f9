"""Nonces for one account, shared by every sender of that account in this process.

Several feeds relay at once with the same key, each from its own thread. Reading the
node's pending transaction count before each send races: two threads read the same
count and the second transaction is refused or replaces the first. One manager per
account hands out nonces under a lock instead.
"""

from __future__ import annotations

import threading

from web3 import Web3


class NonceManager:
    """Hands out the account's nonces one by one; a nonce given back is handed out again first."""

    def __init__(self, w3: Web3, address: str) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next = 0
        self._returned: set[int] = set()

    def allocate(self) -> int:
        """The next nonce to sign with.

        Never below the node's pending count: nonces used by anyone else holding the key
        (another process, a manual transaction) are skipped, which also resynchronises the
        manager after a "nonce too low" refusal.
        """
        with self._lock:
            mined = self._count("latest")
            # A returned nonce below the mined count was used after all (by another holder of the key).
            self._returned = {nonce for nonce in self._returned if nonce >= mined}
            if self._returned:
                nonce = min(self._returned)
                self._returned.remove(nonce)
                return nonce
            nonce = max(self._next, self._count("pending"))
            self._next = nonce + 1
            return nonce

    def release(self, nonce: int) -> None:
        """Give back a nonce that no transaction will use (never broadcast, or dropped by the chain).

        Left unused it would be a gap that every later transaction of the account waits behind.
        """
        with self._lock:
            if nonce < self._next:
                self._returned.add(nonce)

    def _count(self, block: str) -> int:
        return int(self._w3.eth.get_transaction_count(self._address, block))  # type: ignore[arg-type]


_MANAGERS: dict[tuple[int, str, str, str], NonceManager] = {}
_MANAGERS_LOCK = threading.Lock()


def nonce_manager(w3: Web3, address: str) -> NonceManager:
    """The process-wide manager of ``address`` on ``w3``'s chain.

    Keyed by chain id, genesis hash and endpoint as well as the address: local chains
    share chain id 31337 and, started in the same second, even a genesis hash, and a
    manager carried over from another chain would leave a gap that blocks every send.
    """
    endpoint = str(getattr(w3.provider, "endpoint_uri", ""))
    genesis = w3.eth.get_block(0)["hash"]
    key = (int(w3.eth.chain_id), bytes(genesis).hex(), endpoint, Web3.to_checksum_address(address))
    with _MANAGERS_LOCK:
        manager = _MANAGERS.get(key)
        if manager is None:
            manager = _MANAGERS[key] = NonceManager(w3, key[3])
        return manager
