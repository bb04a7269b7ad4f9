"""DSperse-style slicing: a model proven as slices whose boundaries are linked by KZG commitments in the proofs."""

from __future__ import annotations

from oracle.circuits.slicing.artifacts import SliceCircuit, SlicedCircuit, SlicedManifest, SliceEntry
from oracle.circuits.slicing.build import SlicedBuildResult, build_sliced_circuit
from oracle.circuits.slicing.chain import ChainRun, SliceStep, run_chain
from oracle.circuits.slicing.cut import CutPoint, ModelGraph
from oracle.circuits.slicing_plan import SlicingPlan

__all__ = [
    "ChainRun",
    "CutPoint",
    "ModelGraph",
    "SliceCircuit",
    "SliceEntry",
    "SliceStep",
    "SlicedBuildResult",
    "SlicedCircuit",
    "SlicedManifest",
    "SlicingPlan",
    "build_sliced_circuit",
    "run_chain",
]
