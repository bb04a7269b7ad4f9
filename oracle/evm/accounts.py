"""Well-known dev keys: Anvil's accounts, fit only for local chains."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

# Anvil's default mnemonic: its accounts are public knowledge, fit only for local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_INDEX = 0
RELAYER_INDEX = 1

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
