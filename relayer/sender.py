"""Signing and sending transactions from one account, and following them until they are final."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import BlockNotFound, ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from oracle.evm.errors import DecodedRevert, ErrorDecoder
from oracle.exceptions import RelayError
from relayer.fees import Fees, market_fees
from relayer.nonces import NonceManager, nonce_manager

# Estimates are exact for the state they ran against; a margin absorbs small drift
# (e.g. a storage slot first written by an earlier transaction in the same block).
GAS_MARGIN = 1.2
# How nodes word "this nonce is taken": mined already, or held by a pending tx paying as much.
NONCE_REFUSALS = ("nonce too low", "already known", "underpriced", "replacement transaction")
# A fresh nonce refused this many times in a row means something else is sending with the key.
NONCE_ATTEMPTS = 3


class NonceConflict(RelayError):
    """The node refused the transaction's nonce: already used, or held by a pending transaction."""


@dataclass(frozen=True)
class Signed:
    """A signed transaction: its hash is known before it is broadcast."""

    tx_hash: str
    nonce: int
    fees: Fees
    gas: int
    raw: bytes


@dataclass(frozen=True)
class Confirmed:
    tx_hash: str
    gas_used: int
    block_number: int
    receipt: TxReceipt


class TxState(StrEnum):
    UNKNOWN = "unknown"  # neither pending nor in the canonical chain
    PENDING = "pending"
    MINED = "mined"


@dataclass(frozen=True)
class Lookup:
    state: TxState
    receipt: TxReceipt | None = None
    confirmations: int = 0  # the including block counts as the first


class TransactionSender:
    """Builds, signs and sends transactions for ``account``; decodes reverts with ``decoder``.

    Every sender of one account on one chain shares a :class:`NonceManager`, so senders in
    different threads never pick the same nonce.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        decoder: ErrorDecoder,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.1,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.nonces: NonceManager = nonce_manager(w3, account.address)
        self.poll_interval = poll_interval
        self._decoder = decoder
        self._receipt_timeout = receipt_timeout

    def estimate(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        what: str,
        block: Literal["latest", "pending"] = "latest",
    ) -> dict[str, Any]:
        """The unsigned transaction for ``call`` at today's fees; a revert raises :class:`RelayError`.

        By default against the latest block, not the pending one: a proof found spent is
        then spent in a mined block.
        """
        try:
            gas = int(call.estimate_gas({"from": self.account.address}, block_identifier=block) * GAS_MARGIN)
        except ContractCustomError as exc:
            revert = self._decoder.decode(exc.data if isinstance(exc.data, str) else None)
            raise RelayError(f"{what} would revert: {revert}", revert=revert) from exc
        except ContractLogicError as exc:
            revert = DecodedRevert.unexplained(exc.message or "reverted without data")
            raise RelayError(f"{what} would revert: {revert}", revert=revert) from exc
        except Web3RPCError as exc:  # e.g. a contract over EIP-170's size limit: the EVM refuses it, nothing reverts
            raise RelayError(f"{what}: the node refused to run it: {_rpc_message(exc)}") from exc
        fees = market_fees(self.w3)
        # The nonce is a placeholder (without one web3 fetches its own); sign() sets the real one.
        return dict(
            call.build_transaction(
                {
                    "from": self.account.address,
                    "chainId": self.w3.eth.chain_id,
                    "gas": gas,
                    "nonce": 0,
                    "maxFeePerGas": fees.max_fee_per_gas,
                    "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                }
            )
        )

    def sign(self, tx: dict[str, Any], *, nonce: int | None = None, fees: Fees | None = None) -> Signed:
        """Sign ``tx`` with ``nonce`` (default: the next one of the account) and ``fees`` (default: its own)."""
        fees = fees or Fees(int(tx["maxFeePerGas"]), int(tx["maxPriorityFeePerGas"]))
        nonce = self.nonces.allocate() if nonce is None else nonce
        final = {
            **tx,
            "nonce": nonce,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = self.account.sign_transaction(final)
        return Signed(
            tx_hash=signed.hash.to_0x_hex(), nonce=nonce, fees=fees, gas=int(tx["gas"]), raw=signed.raw_transaction
        )

    def broadcast(self, signed: Signed, *, what: str) -> None:
        """Hand ``signed`` to the node; a refused nonce raises :class:`NonceConflict`, other refusals RelayError."""
        try:
            self.w3.eth.send_raw_transaction(signed.raw)
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            error = NonceConflict if any(marker in message.lower() for marker in NONCE_REFUSALS) else RelayError
            raise error(
                f"{what}: the node refused transaction {signed.tx_hash} (nonce {signed.nonce}): {message}",
                tx_hash=signed.tx_hash,
            ) from exc

    def send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        what: str,
        block: Literal["latest", "pending"] = "latest",
    ) -> Signed:
        """Estimate (against ``block``), sign and broadcast ``call``; a revert at estimation raises
        :class:`RelayError`."""
        tx = self.estimate(call, what=what, block=block)
        attempt = 1
        while True:
            signed = self.sign(tx)
            try:
                self.broadcast(signed, what=what)
                return signed
            except NonceConflict:
                if attempt == NONCE_ATTEMPTS:
                    raise
                attempt += 1  # the next allocation skips past what the node has seen
            except RelayError:
                self.nonces.release(signed.nonce)  # refused outright: the nonce is still free
                raise

    def replacement(self, tx_hash: str, fees: Fees) -> Signed | None:
        """``tx_hash`` signed again with the same nonce and ``fees``; None once it is no longer pending."""
        try:
            pending = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if pending["blockNumber"] is not None:
            return None
        tx = {
            "from": self.account.address,
            "to": pending["to"],
            "data": pending["input"],
            "value": pending["value"],
            "gas": pending["gas"],
            "chainId": pending["chainId"],
        }
        return self.sign(tx, nonce=int(pending["nonce"]), fees=fees)

    def lookup(self, tx_hash: str) -> Lookup:
        """Where ``tx_hash`` is now: pending, mined in the canonical chain (with its depth), or unknown."""
        try:
            tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return Lookup(TxState.UNKNOWN)
        if tx["blockNumber"] is None:
            return Lookup(TxState.PENDING)
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            canonical = self.w3.eth.get_block(receipt["blockNumber"])["hash"] == receipt["blockHash"]
        except (TransactionNotFound, BlockNotFound):
            canonical = False
        if not canonical:
            return Lookup(TxState.PENDING)  # a view of a block being reorged away: ask again
        depth = self.w3.eth.block_number - int(receipt["blockNumber"]) + 1
        return Lookup(TxState.MINED, receipt=receipt, confirmations=depth)

    def revert_reason(self, receipt: TxReceipt) -> DecodedRevert:
        """Why a mined transaction reverted: its call replayed on the state of its block, decoded."""
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        replay = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            self.w3.eth.call(replay, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
        except ContractCustomError as exc:
            return self._decoder.decode(exc.data if isinstance(exc.data, str) else None)
        except ContractLogicError as exc:
            return DecodedRevert.unexplained(exc.message or "reverted without data")
        if int(receipt["gasUsed"]) >= int(tx["gas"]):
            return DecodedRevert.unexplained(f"out of gas (gas limit {tx['gas']})")
        return DecodedRevert.unexplained(
            "reverted; replaying the call on its block's state did not reproduce the revert"
        )

    def wait(self, tx_hash: str, *, what: str, confirmations: int = 1) -> Confirmed:
        """Wait until ``tx_hash`` is ``confirmations`` blocks deep; a revert or a drop raises :class:`RelayError`."""
        deadline = time.monotonic() + self._receipt_timeout
        while time.monotonic() < deadline:
            found = self.lookup(tx_hash)
            if found.state is TxState.UNKNOWN:
                raise RelayError(f"{what}: transaction {tx_hash} is neither pending nor mined", tx_hash=tx_hash)
            receipt = found.receipt
            if receipt is not None and found.confirmations >= confirmations:
                if receipt["status"] != 1:
                    revert = self.revert_reason(receipt)
                    raise RelayError(
                        f"{what}: transaction {tx_hash} reverted: {revert}", tx_hash=tx_hash, revert=revert
                    )
                return Confirmed(
                    tx_hash=tx_hash,
                    gas_used=int(receipt["gasUsed"]),
                    block_number=int(receipt["blockNumber"]),
                    receipt=receipt,
                )
            time.sleep(self.poll_interval)
        raise RelayError(
            f"{what}: transaction {tx_hash} not {confirmations} block(s) deep after {self._receipt_timeout:.0f}s",
            tx_hash=tx_hash,
        )

    def transact(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        what: str,
        block: Literal["latest", "pending"] = "latest",
    ) -> Confirmed:
        return self.wait(self.send(call, what=what, block=block).tx_hash, what=what)


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's own words: the JSON-RPC error's message, not web3's rendering of the whole response."""
    error = (exc.rpc_response or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc.message or exc)
