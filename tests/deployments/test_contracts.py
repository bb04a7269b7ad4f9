"""Deploying verifiers: one no chain would accept is refused before any transaction."""

from __future__ import annotations

import dataclasses

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.deployments.contracts import EIP170_CODE_SIZE_LIMIT, deploy_verifier, deploy_verifiers
from oracle.evm.accounts import dev_account
from oracle.evm.contracts import project_error_decoder
from oracle.exceptions import DeploymentError
from relayer.sender import TransactionSender


def _oversized(circuit: CircuitArtifacts) -> CircuitArtifacts:
    manifest = dataclasses.replace(circuit.manifest, verifier_deployed_size=EIP170_CODE_SIZE_LIMIT + 1)
    return dataclasses.replace(circuit, manifest=manifest)


def test_a_verifier_over_eip170_is_refused_in_one_line_before_sending(w3: Web3, demo_circuit: CircuitArtifacts) -> None:
    sender = TransactionSender(w3, dev_account(7), decoder=project_error_decoder())
    sent = w3.eth.get_transaction_count(sender.account.address)
    for deploy in (deploy_verifier, deploy_verifiers):
        with pytest.raises(DeploymentError) as caught:
            deploy(sender, _oversized(demo_circuit), feed_id="big")
        message = str(caught.value)
        assert message.startswith(f"feed 'big': the verifier of circuit {demo_circuit.manifest.key} is 24,577 bytes")
        assert "EIP-170's 24,576-byte limit" in message and "[slicing]" in message
        assert len(message.splitlines()) == 1
    assert w3.eth.get_transaction_count(sender.account.address) == sent
