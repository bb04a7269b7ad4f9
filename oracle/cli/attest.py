"""``zkoracle attest serve``: run a data attester for feeds under the ``attested`` input policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oracle.attestation.chain import ZkOracleChain
from oracle.attestation.checks import DEFAULT_TOLERANCE_PERCENT, MAX_CLOCK_SKEW_SECONDS
from oracle.attestation.keys import attester_account
from oracle.attestation.server import create_attester_app, serve_attester
from oracle.cli.app import app, console
from oracle.evm.chains import connect
from oracle.exceptions import FeedSpecError
from oracle.feeds.loader import load_feed

attest_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Run a data attester for attested feeds.")
app.add_typer(attest_app, name="attest")


SERVE_HELP = (
    "Sign EIP-712 Observations of FEED_DIRs' rounds, each checked by this attester itself, until interrupted.\n\n"
    "POST /attest takes a round's claim: chain id, oracle, feed, phase, observation time and the proof's input "
    "instances. The attester signs Observation(feedId, phaseId, inputsHash, observedAt) in the ZkOracle EIP-712 "
    "domain of --oracle on the --rpc-url chain, answering {signer, signature}, only when all of these hold:\n\n"
    "- the feed is one of FEED_DIRs, and the chain id and oracle are the ones it serves;\n\n"
    "- the instances are as many as the phase's on-chain input count, and their 3 time limbs encode the "
    "observation time;\n\n"
    f"- that time is at most {MAX_CLOCK_SKEW_SECONDS} s ahead of this machine's clock and no older than the "
    "feed's onchain.max_observation_age_seconds;\n\n"
    "- every other input is within the feed's attestation.tolerance_percent "
    f"(default {DEFAULT_TOLERANCE_PERCENT}), plus one quantisation step, of this attester's own fetch of the "
    "feed's source at that time.\n\n"
    "Otherwise it answers the reason as {kind, detail} and logs one line naming the feed and the reason. "
    "GET /health answers anyone."
)


@attest_app.command(help=SERVE_HELP)
def serve(
    feed_dirs: Annotated[list[Path], typer.Argument(help="feed folders (containing feed.toml) to attest for")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="RPC URL of the chain whose oracle the rounds go to")],
    oracle: Annotated[str, typer.Option("--oracle", help="ZkOracle address: the EIP-712 verifying contract")],
    key_env: Annotated[
        str | None, typer.Option("--key-env", help="NAME of the env var holding the attester's private key")
    ] = None,
    keystore: Annotated[
        Path | None, typer.Option("--keystore", help="or: an encrypted JSON keystore holding the attester's key")
    ] = None,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="NAME of the env var holding the keystore's password")
    ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8093,
) -> None:
    account = attester_account(key_env=key_env, keystore=keystore, password_env=password_env)
    feeds = {}
    for folder in feed_dirs:
        spec = load_feed(folder)
        if spec.id in feeds:
            raise FeedSpecError(spec.id, "id", f"{folder} repeats a feed already given", "pass each feed once")
        feeds[spec.id] = spec
    chain = ZkOracleChain(connect(rpc_url), oracle)
    attester = create_attester_app(account=account, feeds=feeds, chain=chain)
    console.print(
        f"attester {account.address} for {', '.join(sorted(feeds))} on chain {chain.chain_id} "
        f"(oracle {chain.oracle}) listening on http://{host}:{port}",
        soft_wrap=True,
    )
    serve_attester(attester, host=host, port=port)
