"""``python -m bench.models``: the real-models report (see :mod:`bench.models.report`)."""

from __future__ import annotations

from bench.models.report import main

if __name__ == "__main__":
    main()
