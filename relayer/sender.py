"""Signing and sending transactions from one account, and waiting for their receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted
from web3.types import TxReceipt

from oracle.evm.errors import ErrorDecoder
from oracle.exceptions import RelayError

# Estimates are exact for the state they ran against; a margin absorbs small drift
# (e.g. a storage slot first written by an earlier transaction in the same block).
GAS_MARGIN = 1.2


@dataclass(frozen=True)
class Sent:
    tx_hash: str
    nonce: int


@dataclass(frozen=True)
class Confirmed:
    tx_hash: str
    gas_used: int
    block_number: int
    receipt: TxReceipt


class TransactionSender:
    """Builds, signs and sends transactions for ``account``; decodes reverts with ``decoder``."""

    def __init__(
        self, w3: Web3, account: LocalAccount, *, decoder: ErrorDecoder, receipt_timeout: float = 120.0
    ) -> None:
        self.w3 = w3
        self.account = account
        self._decoder = decoder
        self._receipt_timeout = receipt_timeout

    def send(self, call: ContractFunction | ContractConstructor, *, what: str) -> Sent:
        """Estimate, sign and broadcast ``call``; a revert at estimation raises :class:`RelayError`."""
        nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        params: dict[str, Any] = {"from": self.account.address, "nonce": nonce, "chainId": self.w3.eth.chain_id}
        try:
            params["gas"] = int(call.estimate_gas(params) * GAS_MARGIN)
            tx = call.build_transaction(params)
        except ContractCustomError as exc:
            reason = self._decoder.decode(exc.data if isinstance(exc.data, str) else None)
            raise RelayError(f"{what} would revert: {reason}", reason=reason) from exc
        except ContractLogicError as exc:
            raise RelayError(f"{what} would revert: {exc.message}", reason=exc.message) from exc
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return Sent(tx_hash=tx_hash.to_0x_hex(), nonce=nonce)

    def wait(self, sent: Sent, *, what: str) -> Confirmed:
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(sent.tx_hash, timeout=self._receipt_timeout)
        except TimeExhausted as exc:
            raise RelayError(
                f"{what}: no receipt for {sent.tx_hash} after {self._receipt_timeout:.0f}s", tx_hash=sent.tx_hash
            ) from exc
        if receipt["status"] != 1:
            raise RelayError(f"{what}: transaction {sent.tx_hash} reverted", tx_hash=sent.tx_hash, reason="reverted")
        return Confirmed(
            tx_hash=sent.tx_hash,
            gas_used=int(receipt["gasUsed"]),
            block_number=int(receipt["blockNumber"]),
            receipt=receipt,
        )

    def transact(self, call: ContractFunction | ContractConstructor, *, what: str) -> Confirmed:
        return self.wait(self.send(call, what=what), what=what)
