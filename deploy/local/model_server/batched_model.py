"""The config.pbtxt of a batched Python-backend model: one response per request, Triton's
dynamic batcher in front.

The guard models (`guard`, `groundedness`) are native Python-backend models rather than
PyTriton bindings: a request then goes Triton -> the backend's stub -> the model, without
PyTriton's extra hop through its proxy process (about 8 ms a call on this hardware, several
times the model's own work). serve.py writes this config beside a model.py that imports the
model's `*_backend` module.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence

# The dynamic batcher holds a lone request this long for company. The checks must answer
# in a few milliseconds, so the wait stays a small share of that; requests that arrive
# while the instance is busy are merged anyway.
QUEUE_DELAY_US = 200


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # config.pbtxt TYPE_* name
    dims: tuple[int, ...] = (1,)


def config_pbtxt(
    name: str,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    max_batch_size: int,
    parameters: Mapping[str, str],
) -> str:
    """One CPU instance, dynamic batching; dims exclude the batch dimension."""

    def tensor(spec: TensorSpec) -> str:
        dims = ", ".join(str(d) for d in spec.dims)
        return f'  {{ name: "{spec.name}" data_type: {spec.data_type} dims: [ {dims} ] }}'

    # A JSON string literal (non-ASCII left as UTF-8) is a valid protobuf text-format
    # string, so paths with quotes or backslashes survive.
    params = "".join(
        f"parameters {{ key: {_quoted(key)} value: {{ string_value: {_quoted(value)} }} }}\n"
        for key, value in parameters.items()
    )
    return (
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: {max_batch_size}\n'
        f"dynamic_batching {{ max_queue_delay_microseconds: {QUEUE_DELAY_US} }}\n"
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
        "input [\n" + ",\n".join(tensor(s) for s in inputs) + "\n]\n"
        "output [\n" + ",\n".join(tensor(s) for s in outputs) + "\n]\n" + params
    )


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def model_parameters(args: Mapping[str, str]) -> dict[str, str]:
    """The `parameters` of the config, from the `args` Triton passes to `initialize`."""
    config = json.loads(args["model_config"])
    return {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
