from __future__ import annotations

import pytest
from web3 import Web3

from oracle.evm.accounts import dev_account
from oracle.evm.contracts import ORACLE, bind, feed_key, project_error_decoder
from oracle.exceptions import RelayError
from relayer.deployer import deploy_oracle
from relayer.sender import TransactionSender


def test_transactions_confirm_and_nonces_advance(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    before = w3.eth.get_transaction_count(sender.account.address)
    address = deploy_oracle(sender)
    oracle = bind(w3, ORACLE, address)
    operator_role = oracle.functions.OPERATOR_ROLE().call()
    grant = oracle.functions.grantRole(operator_role, dev_account(6).address)
    confirmed = sender.transact(grant, what="grant operator")
    assert confirmed.gas_used > 21_000
    assert w3.eth.get_transaction_count(sender.account.address) == before + 2
    assert oracle.functions.hasRole(operator_role, dev_account(6).address).call()


def test_a_revert_is_reported_before_sending_with_the_decoded_error(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    oracle = bind(w3, ORACLE, deploy_oracle(sender))
    nonce = w3.eth.get_transaction_count(sender.account.address)
    with pytest.raises(RelayError) as info:
        sender.send(oracle.functions.submit(feed_key("nowhere"), b"\x01", [1]), what="submit")
    assert info.value.reason == f"ZkOracleUnknownFeed(0x{feed_key('nowhere').hex()})"
    assert "submit would revert" in str(info.value)
    assert w3.eth.get_transaction_count(sender.account.address) == nonce  # nothing was broadcast
