"""Which key signs for whom: a feed's own relayer key, keys from the environment, dev keys on local chains."""

from __future__ import annotations

import json
import os

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from oracle.evm.accounts import DEPLOYER_INDEX, RELAYER_INDEX, dev_account
from oracle.evm.chains import is_dev_chain
from oracle.evm.contracts import project_error_decoder
from oracle.exceptions import ChainError, FeedSpecError
from oracle.feeds.schema import DEFAULT_CHAIN, FeedSpec
from relayer.sender import TransactionSender


def sender_for(w3: Web3, role: str, *, feed: FeedSpec | None = None) -> TransactionSender:
    """A sender signing as ``role``; for a ``feed``, its relayer signs with the key the feed's ``[chain]`` names."""
    account = account_for(role, chain_id=w3.eth.chain_id, feed=feed)
    return TransactionSender(w3, account, decoder=project_error_decoder())


def account_for(role: str, *, chain_id: int, feed: FeedSpec | None = None) -> LocalAccount:
    """The key for ``role`` ("deployer" or "relayer") on chain ``chain_id``.

    In order: the relayer key named by the feed's target on this chain (``[chain]`` or
    ``[chains.<name>]``); ``ZKORACLE_<ROLE>_KEY``; a dev key on dev chains.
    """
    target = None if feed is None else feed.target_on(chain_id)
    if role == "relayer" and feed is not None and target is not None:
        named = feed_relayer_account(feed, target[0])
        if named is not None:
            return named
    variable = f"ZKORACLE_{role.upper()}_KEY"
    key = os.environ.get(variable)
    if key:
        return Account.from_key(key)
    if is_dev_chain(chain_id):
        return dev_account(DEPLOYER_INDEX if role == "deployer" else RELAYER_INDEX)
    raise ChainError(f"no {role} key for chain {chain_id}: set {variable} to the account's private key")


def feed_relayer_account(feed: FeedSpec, target: str = DEFAULT_CHAIN) -> LocalAccount | None:
    """The relayer key the feed's ``target`` names (an environment variable, or a keystore + password), if any.

    Errors name the field but never the secret: the CLI prints them, and logs keep them.
    """
    chain = feed.targets.get(target)
    if chain is None:
        return None
    table = "chain" if target == DEFAULT_CHAIN and feed.chain is not None else f"chains.{target}"
    if chain.relayer_key_env is not None:
        name = chain.relayer_key_env
        key = os.environ.get(name)
        if not key:
            raise FeedSpecError(
                feed.id,
                f"{table}.relayer_key_env",
                f"the environment variable {name} is not set",
                f"export {name} with the relayer's private key, or name another variable",
            )
        try:
            return Account.from_key(key)
        except ValueError:
            raise FeedSpecError(
                feed.id,
                f"{table}.relayer_key_env",
                f"{name} does not hold a private key",
                f"set {name} to the relayer's 32-byte private key in hex",
            ) from None  # the parse error may quote the value
    if chain.keystore is None or chain.password_env is None:  # the schema sets both or neither
        return None
    path = feed.folder / chain.keystore.expanduser()
    password = os.environ.get(chain.password_env)
    if password is None:
        raise FeedSpecError(
            feed.id,
            f"{table}.password_env",
            f"the environment variable {chain.password_env} is not set",
            f"export {chain.password_env} with the password of {path}",
        )
    try:
        keyfile = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FeedSpecError(
            feed.id,
            f"{table}.keystore",
            f"cannot read {path} ({exc})",
            "point it at an encrypted JSON keystore (relative to the feed folder)",
        ) from exc
    try:
        key = Account.decrypt(keyfile, password)
    except (KeyError, TypeError, NotImplementedError) as exc:  # fields missing or of an unknown version
        raise FeedSpecError(
            feed.id,
            f"{table}.keystore",
            f"{path} is not an encrypted JSON keystore ({type(exc).__name__}: {exc})",
            "point it at a version 3 keystore, as geth, cast wallet or eth_account write them",
        ) from exc
    except ValueError as exc:  # "MAC mismatch": the password is wrong
        raise FeedSpecError(
            feed.id,
            f"{table}.password_env",
            f"{chain.password_env} does not decrypt {path} ({exc})",
            f"set {chain.password_env} to the keystore's password",
        ) from None
    return Account.from_key(key)
