"""Reading LLM responses without numpy: the same values as tritonclient's own decoding."""

from __future__ import annotations

import numpy as np
from tritonclient.grpc import service_pb2
from tritonclient.utils import np_to_triton_dtype, serialize_byte_tensor

from llmops_triton._tensors import generation_outputs, outputs_of


def _response(**tensors: np.ndarray) -> service_pb2.ModelInferResponse:
    response = service_pb2.ModelInferResponse(model_name="ensemble")
    for name, array in tensors.items():
        out = response.outputs.add(name=name, datatype=np_to_triton_dtype(array.dtype))
        out.shape.extend(array.shape)
        if array.dtype == np.object_:
            response.raw_output_contents.append(serialize_byte_tensor(array).item())
        else:
            response.raw_output_contents.append(array.tobytes())
    return response


def test_text_and_counts_match_tritonclients_decoding():
    response = _response(
        text_output=np.array([["héllo, ".encode()]], dtype=np.object_),
        num_input_tokens=np.array([[12]], dtype=np.int32),
        num_output_tokens=np.array([[3]], dtype=np.int64),
    )
    outputs = generation_outputs(response)
    decoded = outputs_of(response)
    assert outputs.text == decoded["text_output"].reshape(-1)[0].decode() == "héllo, "
    assert (outputs.input_tokens, outputs.output_tokens) == (12, 3)


def test_several_byte_elements_are_joined_and_missing_counts_are_none():
    response = _response(text_output=np.array([[b"a", b"", "\u00e9".encode()]], dtype=np.object_))
    outputs = generation_outputs(response)
    assert outputs.text == "a\u00e9"
    assert outputs.input_tokens is None and outputs.output_tokens is None


def test_an_empty_final_response_has_no_text():
    outputs = generation_outputs(service_pb2.ModelInferResponse(model_name="ensemble"))
    assert outputs.text == "" and outputs.output_tokens is None


def test_a_utf8_character_split_between_bytes_elements_is_rejoined():
    euro = "€".encode()  # 3 bytes
    response = _response(text_output=np.array([[euro[:1], euro[1:]]], dtype=np.object_))
    assert generation_outputs(response).text == "€"
