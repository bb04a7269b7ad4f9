"""Chains and contracts: connecting, Anvil, solc, the contracts' bindings (ZkOracle typed), dev keys, revert decoding."""
