"""Signing accounts: well-known dev keys on local chains, keys from the environment elsewhere."""

from __future__ import annotations

import os

from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.circuits.srs import DEV_CHAIN_IDS
from oracle.exceptions import ChainError

# Anvil's default mnemonic: its accounts are public knowledge, fit only for local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_INDEX = 0
RELAYER_INDEX = 1

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def account_for(role: str, *, chain_id: int) -> LocalAccount:
    """The key for ``role`` ("deployer" or "relayer"): ``ZKORACLE_<ROLE>_KEY``, else a dev key on dev chains."""
    variable = f"ZKORACLE_{role.upper()}_KEY"
    key = os.environ.get(variable)
    if key:
        return Account.from_key(key)
    if chain_id in DEV_CHAIN_IDS:
        return dev_account(DEPLOYER_INDEX if role == "deployer" else RELAYER_INDEX)
    raise ChainError(f"no {role} key for chain {chain_id}: set {variable} to the account's private key")
