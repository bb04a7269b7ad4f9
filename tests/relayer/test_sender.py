from __future__ import annotations

import threading

import pytest
from web3 import Web3

from oracle.deployments.contracts import deploy_oracle
from oracle.evm.accounts import dev_account
from oracle.evm.contracts import feed_key, project_error_decoder
from oracle.evm.errors import DecodedRevert
from oracle.evm.zkoracle import ZkOracle
from oracle.exceptions import RelayError
from relayer.fees import Fees, market_fees
from relayer.sender import Signed, TransactionSender


def test_transactions_confirm_and_nonces_advance(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    before = w3.eth.get_transaction_count(sender.account.address)
    address = deploy_oracle(sender)
    roles = ZkOracle(w3, address).contract  # AccessControl's roles are not the binding's
    operator_role = roles.functions.OPERATOR_ROLE().call()
    grant = roles.functions.grantRole(operator_role, dev_account(6).address)
    confirmed = sender.transact(grant, what="grant operator")
    assert confirmed.gas_used > 21_000
    # The oracle's CircuitStorage library, the oracle, the grant.
    assert w3.eth.get_transaction_count(sender.account.address) == before + 3
    assert roles.functions.hasRole(operator_role, dev_account(6).address).call()


def test_a_revert_is_reported_before_sending_with_the_decoded_error(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    oracle = ZkOracle(w3, deploy_oracle(sender))
    nonce = w3.eth.get_transaction_count(sender.account.address)
    with pytest.raises(RelayError) as info:
        sender.send(oracle.submit("nowhere", b"\x01", [1]), what="submit")
    assert info.value.revert == DecodedRevert("ZkOracleUnknownFeed", (feed_key("nowhere"),))
    assert str(info.value.revert) == f"ZkOracleUnknownFeed(0x{feed_key('nowhere').hex()})"
    assert "submit would revert" in str(info.value)
    assert w3.eth.get_transaction_count(sender.account.address) == nonce  # nothing was broadcast


def test_a_contract_the_evm_refuses_is_one_line_naming_why(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    # Init code returning 24,577 bytes of runtime code: one over EIP-170's limit.
    oversized = w3.eth.contract(abi=[], bytecode="0x6160016000f3")
    with pytest.raises(RelayError) as refused:
        sender.transact(oversized.constructor(), what="deploy Oversized")
    assert str(refused.value) == "deploy Oversized: the node refused to run it: EVM error CreateContractSizeLimit"


def test_senders_in_two_threads_share_the_account_nonces(w3: Web3) -> None:
    """Two feeds relaying at once with one key: no nonce is used twice, none is skipped.

    Each thread signs, then both broadcast, as the round relayer does with its write-ahead
    record in between: a nonce read from the node's pending count would be the same for both.
    """
    owner = TransactionSender(w3, dev_account(7), decoder=project_error_decoder())
    roles = ZkOracle(w3, deploy_oracle(owner)).contract  # AccessControl's roles are not the binding's
    operator_role = roles.functions.OPERATOR_ROLE().call()
    start = w3.eth.get_transaction_count(owner.account.address)
    per_thread = 5
    both_signed = threading.Barrier(2)
    sent: list[Signed] = []
    errors: list[BaseException] = []

    def feed(grantee: int) -> None:
        sender = TransactionSender(w3, dev_account(7), decoder=project_error_decoder())  # its own sender, same key
        call = roles.functions.grantRole(operator_role, dev_account(grantee).address)
        try:
            for _ in range(per_thread):
                signed = sender.sign(sender.estimate(call, what="grant"))
                both_signed.wait()
                sender.broadcast(signed, what="grant")
                sent.append(signed)
        except BaseException as exc:  # a collision surfaces here as a refused nonce
            both_signed.abort()
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(grantee,)) for grantee in (8, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(s.nonce for s in sent) == list(range(start, start + 2 * per_thread))
    assert all(owner.wait(s.tx_hash, what="grant").gas_used > 21_000 for s in sent)
    assert w3.eth.get_transaction_count(owner.account.address) == start + 2 * per_thread


def test_a_given_back_nonce_is_handed_out_again_first(w3: Web3) -> None:
    nonces = TransactionSender(w3, dev_account(8), decoder=project_error_decoder()).nonces
    first, second, third = nonces.allocate(), nonces.allocate(), nonces.allocate()
    assert (second, third) == (first + 1, first + 2)
    nonces.release(second)  # e.g. its transaction was dropped: left unused it would block every later one
    assert nonces.allocate() == second
    assert nonces.allocate() == third + 1
    for nonce in (first, second, third, third + 1):
        nonces.release(nonce)  # leave the account's nonces as they were for later tests


def test_a_replacement_outbids_both_fees_by_an_eighth() -> None:
    assert Fees(800, 80).bumped(Fees(100, 10)) == Fees(901, 91)
    assert Fees(800, 80).bumped(Fees(5000, 200)) == Fees(5000, 200)  # never below today's market


def test_a_mined_revert_is_decoded_by_replaying_it_on_its_block(w3: Web3) -> None:
    sender = TransactionSender(w3, dev_account(5), decoder=project_error_decoder())
    call = ZkOracle(w3, deploy_oracle(sender)).submit("nowhere", b"\x01", [1])
    # Built with a fixed gas limit, skipping the estimate that would refuse it, so the chain mines the revert.
    fees = market_fees(w3)
    tx = call.build_transaction(
        {
            "from": sender.account.address,
            "gas": 200_000,
            "nonce": 0,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
    )
    signed = sender.sign(dict(tx))
    sender.broadcast(signed, what="submit")
    with pytest.raises(RelayError) as info:
        sender.wait(signed.tx_hash, what="submit")
    assert info.value.revert == DecodedRevert("ZkOracleUnknownFeed", (feed_key("nowhere"),))
    assert str(info.value.revert) == f"ZkOracleUnknownFeed(0x{feed_key('nowhere').hex()})"
    assert f"transaction {signed.tx_hash} reverted" in str(info.value)
