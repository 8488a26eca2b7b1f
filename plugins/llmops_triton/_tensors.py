"""KServe v2 tensors to and from numpy, over tritonclient's generated protobufs.

Requests are built directly (not through tritonclient's request helpers) so that
reserved parameters such as ``triton_enable_empty_final_response`` can be set on
streaming calls.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from tritonclient.grpc import service_pb2
from tritonclient.utils import deserialize_bytes_tensor, np_to_triton_dtype, serialize_byte_tensor


def infer_request(
    model: str,
    inputs: Mapping[str, np.ndarray],
    *,
    request_id: str = "",
    final_response: bool = False,
) -> service_pb2.ModelInferRequest:
    request = service_pb2.ModelInferRequest(model_name=model, id=request_id)
    for name, array in inputs.items():
        tensor = request.inputs.add(name=name, datatype=np_to_triton_dtype(array.dtype))
        tensor.shape.extend(array.shape)
        if array.dtype == np.object_:
            serialized = serialize_byte_tensor(array)
            request.raw_input_contents.append(serialized.item() if serialized.size else b"")
        else:
            request.raw_input_contents.append(np.ascontiguousarray(array).tobytes())
    if final_response:
        request.parameters["triton_enable_empty_final_response"].bool_param = True
    return request


def outputs_of(response: service_pb2.ModelInferResponse) -> dict[str, np.ndarray]:
    """Every output tensor of a response, by name."""
    arrays = {}
    for index, tensor in enumerate(response.outputs):
        raw = (
            response.raw_output_contents[index]
            if index < len(response.raw_output_contents)
            else b""
        )
        shape = list(tensor.shape)
        if tensor.datatype == "BYTES":
            arrays[tensor.name] = deserialize_bytes_tensor(raw).reshape(shape)
        else:
            dtype = _NUMPY_DTYPES[tensor.datatype]
            arrays[tensor.name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return arrays


@dataclass(frozen=True)
class GenerationOutputs:
    """What one response of an LLM stream carries; counts are None when not sent."""

    text: str
    input_tokens: int | None
    output_tokens: int | None


def generation_outputs(response: service_pb2.ModelInferResponse) -> GenerationOutputs:
    """Read ``text_output`` and the token counts straight from the raw contents.

    This runs once per streamed token, so it skips numpy (``outputs_of`` costs ~60 µs a
    response, this ~5 µs): BYTES are 4-byte little-endian lengths each followed by the
    bytes; a count is the first element of an integer tensor.
    """
    text, counts = "", {}
    raws = response.raw_output_contents
    for index, tensor in enumerate(response.outputs):
        raw = raws[index] if index < len(raws) else b""
        name = tensor.name
        if name == "text_output":
            text = _join_bytes(raw).decode("utf-8", errors="replace")
        elif name in ("num_input_tokens", "num_output_tokens"):
            size = _INT_SIZES.get(tensor.datatype)
            if size and len(raw) >= size:
                counts[name] = int.from_bytes(raw[:size], "little", signed=True)
    return GenerationOutputs(text, counts.get("num_input_tokens"), counts.get("num_output_tokens"))


def _join_bytes(raw: bytes) -> bytes:
    parts, offset = [], 0
    while offset + 4 <= len(raw):
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        parts.append(raw[offset : offset + length])
        offset += length
    return b"".join(parts)


_LENGTH = struct.Struct("<I")
_INT_SIZES = {"INT32": 4, "INT64": 8, "UINT32": 4}


def is_final(response: service_pb2.ModelInferResponse) -> bool:
    parameter = response.parameters.get("triton_final_response")
    return bool(parameter and parameter.bool_param)


_NUMPY_DTYPES = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
