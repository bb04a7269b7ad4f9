"""Deploying verifiers: one no chain would accept is refused before any transaction."""

from __future__ import annotations

import dataclasses

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.contracts import deploy_verifier, deploy_verifiers
from oracle.evm.accounts import dev_account
from oracle.evm.compiler import EIP170_CODE_SIZE_LIMIT
from oracle.evm.contracts import project_error_decoder
from oracle.exceptions import DeploymentError
from relayer.sender import TransactionSender


def _with(circuit: CircuitArtifacts, **manifest: object) -> CircuitArtifacts:
    return dataclasses.replace(circuit, manifest=dataclasses.replace(circuit.manifest, **manifest))


def _refusal(w3: Web3, circuit: CircuitArtifacts) -> str:
    """The one line both deploy functions refuse ``circuit`` with, having sent nothing."""
    sender = TransactionSender(w3, dev_account(7), decoder=project_error_decoder())
    sent = w3.eth.get_transaction_count(sender.account.address)
    messages = set()
    for deploy in (lambda: deploy_verifier(sender, circuit, feed_id="big"),
                   lambda: deploy_verifiers(sender, FeedCircuit.whole(circuit), feed_id="big")):
        with pytest.raises(DeploymentError) as caught:
            deploy()
        messages.add(str(caught.value))
    assert w3.eth.get_transaction_count(sender.account.address) == sent
    (message,) = messages
    assert len(message.splitlines()) == 1
    return message


def test_a_dedicated_verifier_over_eip170_is_refused_with_the_fix(w3: Web3, demo_circuit: CircuitArtifacts) -> None:
    # Only a build from before reusable verifiers has one: today's builds switch to a VKA instead.
    message = _refusal(w3, _with(demo_circuit, verifier_deployed_size=EIP170_CODE_SIZE_LIMIT + 1))
    assert message.startswith(f"feed 'big': the verifier of circuit {demo_circuit.manifest.key} is 24,577 bytes")
    assert "EIP-170's 24,576-byte limit" in message and "zkoracle build" in message


def test_a_vka_too_large_to_keep_as_code_is_refused(w3: Web3, demo_circuit: CircuitArtifacts) -> None:
    message = _refusal(w3, _with(demo_circuit, verifier_kind="reusable", vka_words=768))
    assert message.startswith(f"feed 'big': the verifier of circuit {demo_circuit.manifest.key} needs a 768-word VKA")
    assert "24,577 bytes of code" in message and "[slicing]" in message
