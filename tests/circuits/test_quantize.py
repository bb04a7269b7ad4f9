from __future__ import annotations

import ezkl
import pytest

from oracle.circuits.quantize import answer_from_felt, felt_to_float, felt_to_uint
from oracle.evm.zkoracle import FIELD_MODULUS


@pytest.mark.parametrize(
    ("value", "scale", "decimals", "answer"),
    [
        (2024.25, 13, 8, 202425000000),
        (-2024.25, 13, 8, -202425000000),
        (1.0 / 8192, 13, 2, 0),  # 0.000122 rounds to 0.00
        (0.5, 1, 0, 1),  # half rounds away from zero
        (-0.5, 1, 0, -1),
    ],
)
def test_answer_matches_the_contracts_rounding(value: float, scale: int, decimals: int, answer: int) -> None:
    felt = ezkl.float_to_felt(value, scale, ezkl.PyInputType.F64)
    assert answer_from_felt(felt, scale=scale, decimals=decimals) == answer
    assert felt_to_float(felt, scale) == pytest.approx(value)


def test_negative_values_are_encoded_as_field_complements() -> None:
    felt = ezkl.float_to_felt(-1.0, 13, ezkl.PyInputType.F64)
    assert felt_to_uint(felt) == FIELD_MODULUS - 8192
