from __future__ import annotations

import pytest

from oracle.circuits.srs import check_srs_allowed
from oracle.exceptions import DevSrsRefusedError


def test_dev_srs_is_refused_on_a_non_dev_chain() -> None:
    with pytest.raises(DevSrsRefusedError, match="feed 'demo'.*chain 1.*--force-dev-srs"):
        check_srs_allowed(dev_srs=True, chain_id=1, feed_id="demo")


def test_dev_srs_is_allowed_on_anvil_or_when_forced() -> None:
    check_srs_allowed(dev_srs=True, chain_id=31337, feed_id="demo")
    check_srs_allowed(dev_srs=True, chain_id=1, feed_id="demo", force=True)
    check_srs_allowed(dev_srs=False, chain_id=1, feed_id="demo")
