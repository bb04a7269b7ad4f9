"""Uploads signed by their digest, so that neither side holds a large body whole in memory.

btauth/1 signs the sha256 of the body it is given. For an upload (a recipe, an SRS of
megabytes) the body given to btauth is the hex sha256 of the real body, which travels
in ``X-Zkoracle-Content-Sha256``; the real body is streamed. The receiver checks the
signature (and so the claimed digest, the caller, the receiver, freshness and replay)
from the headers alone, before reading a byte of the body, then spools the body to
disk while hashing it and refuses it when it does not hash to the signed digest.
Method and path are signed as for any request, and no other route signs a digest
in place of its body, so a signature cannot be moved between an upload and another request.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import BinaryIO

import anyio
import bittensor as bt

from oracle.exceptions import UploadMismatchError

CONTENT_SHA256 = "X-Zkoracle-Content-Sha256"
CHUNK = 1 << 20


def sign_upload(signer: bt.Signer, *, method: str, path: str, sha256: str, receiver: str) -> dict[str, str]:
    """btauth/1 headers over ``sha256`` (the body's, hex) in place of the body, plus the digest header."""
    headers = bt.http_auth.sign(signer, method=method, path=path, body=sha256.encode(), receiver_ss58=receiver)
    return {**headers, CONTENT_SHA256: sha256}


def verify_upload(
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    self_hotkey_ss58: str,
    nonce_store: bt.http_auth.NonceStore,
    now_ns: int,
) -> tuple[bt.http_auth.Caller, str]:
    """The caller and the sha256 it signed for the body; raises :class:`bt.http_auth.AuthError`."""
    claimed = {key.lower(): value for key, value in headers.items()}.get(CONTENT_SHA256.lower(), "")
    if len(claimed) != 64 or any(c not in "0123456789abcdef" for c in claimed):
        raise bt.http_auth.MalformedAuth(f"an upload needs {CONTENT_SHA256}: the body's sha256, 64 lowercase hex")
    caller = bt.http_auth.verify(
        headers,
        claimed.encode(),
        method=method,
        path=path,
        self_hotkey_ss58=self_hotkey_ss58,
        nonce_store=nonce_store,
        now_ns=now_ns,
    )
    return caller, claimed


async def spool(chunks: AsyncIterable[bytes], into: BinaryIO, *, sha256: str) -> None:
    """Write ``chunks`` to ``into``, hashing them; :class:`~oracle.exceptions.UploadMismatchError` unless they hash to ``sha256``."""
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        await anyio.to_thread.run_sync(into.write, chunk)
    if digest.hexdigest() != sha256:
        raise UploadMismatchError(f"the body hashes to {digest.hexdigest()}, not to the signed {sha256}")


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A file's bytes in chunks, read off the event loop."""
    with path.open("rb") as file:
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
            yield chunk
