"""The attester's signing key: from an environment variable, or an encrypted keystore and its password's variable.

Errors name the variable or file, never the secret: the CLI prints them and logs keep them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.exceptions import ChainError


def attester_account(
    *, key_env: str | None = None, keystore: Path | None = None, password_env: str | None = None
) -> LocalAccount:
    if (key_env is None) == (keystore is None):
        raise ChainError("name the attester's key: --key-env NAME, or --keystore PATH with --password-env NAME")
    if key_env is not None:
        key = os.environ.get(key_env)
        if not key:
            raise ChainError(f"the environment variable {key_env} is not set; export it with the attester's key")
        try:
            return Account.from_key(key)
        except ValueError:
            raise ChainError(f"{key_env} does not hold a 32-byte private key in hex") from None  # may quote the key
    assert keystore is not None
    if password_env is None:
        raise ChainError(f"a keystore needs --password-env NAME: the variable holding the password of {keystore}")
    password = os.environ.get(password_env)
    if password is None:
        raise ChainError(f"the environment variable {password_env} is not set; export it with the keystore's password")
    try:
        keyfile = json.loads(keystore.expanduser().read_text())
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot read the keystore {keystore} ({exc})") from exc
    try:
        return Account.from_key(Account.decrypt(keyfile, password))
    except (KeyError, TypeError, NotImplementedError) as exc:
        raise ChainError(f"{keystore} is not an encrypted JSON keystore ({type(exc).__name__})") from exc
    except ValueError:  # "MAC mismatch"
        raise ChainError(f"{password_env} does not decrypt {keystore}") from None
