"""Hotkeys: who signs the node's requests and a prover's answers (Bittensor wallets)."""

from __future__ import annotations

import os
from pathlib import Path

import bittensor as bt
from bittensor.keyfiles import KeyfileError, Keypair

from oracle.exceptions import ProverError
from oracle.paths import state_dir

NODE_WALLET = "zkoracle/node"
PROVER_WALLET = "zkoracle/prover"


def default_wallet_path() -> Path:
    """Wallets created by zkoracle live with its state, never in the user's ~/.bittensor."""
    return state_dir() / "wallets"


def load_hotkey(wallet: str, *, path: Path, create: bool = False) -> Keypair:
    """The hotkey of ``wallet`` ("name/hotkey") under ``path``; created unencrypted when missing and ``create``."""
    name, _, hotkey = wallet.partition("/")
    if not name or not hotkey:
        raise ProverError(f"wallet {wallet!r} must be written as NAME/HOTKEY (e.g. {PROVER_WALLET!r})")
    handle = bt.Wallet(name=name, hotkey=hotkey, path=str(path))
    if not handle.hotkey_file.exists_on_device():
        if not create:
            raise ProverError(f"no hotkey {wallet!r} under {path}; create it with btcli or pick another wallet")
        # Like btcli's hotkeys: unencrypted, so an unattended service can sign.
        handle.create_new_hotkey(use_password=False, suppress=True)
    try:
        return handle.hotkey
    except (KeyfileError, OSError, ValueError) as exc:  # unreadable, undecryptable or malformed
        raise ProverError(f"cannot load hotkey {wallet!r} from {path}: {exc}") from exc


def node_hotkey() -> Keypair:
    """The node's signing hotkey: ``ZKORACLE_HOTKEY`` (NAME/HOTKEY) in ``ZKORACLE_WALLET_PATH``, or its own."""
    configured = os.environ.get("ZKORACLE_HOTKEY")
    path = Path(os.environ.get("ZKORACLE_WALLET_PATH", default_wallet_path()))
    return load_hotkey(configured or NODE_WALLET, path=path, create=configured is None)
