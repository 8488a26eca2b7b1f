"""The text-format writer and parser."""

from __future__ import annotations

import pytest

from llmops_deploy._pbtxt import Enum, ParseError, dumps, field, fields, loads, msg, parameters


def test_round_trip_keeps_order_types_and_repeated_fields():
    config = msg(
        ("name", "tensorrt_llm"),
        ("max_batch_size", 64),
        ("model_transaction_policy", msg(("decoupled", True))),
        (
            "input",
            [
                msg(
                    ("name", "input_ids"),
                    ("data_type", Enum("TYPE_INT32")),
                    ("dims", [-1]),
                    ("reshape", msg(("shape", []))),
                    ("optional", True),
                )
            ],
        ),
        ("parameters", msg(("key", "a"), ("value", msg(("string_value", 'x "quoted" \\ y'))))),
        ("parameters", msg(("key", "b"), ("value", msg(("string_value", ""))))),
        ("ratio", 0.9),
        ("dynamic_batching", msg()),
    )
    text = dumps(config)
    assert loads(text) == config
    assert 'string_value: "x \\"quoted\\" \\\\ y"' in text
    assert "shape: [ ]" in text
    assert parameters(loads(text)) == {"a": 'x "quoted" \\ y', "b": ""}


def test_parses_the_official_template_style():
    text = """
    # a comment
    name: "ensemble"
    platform: "ensemble"
    max_batch_size: 8
    input [
      {
        name: "text_input"
        data_type: TYPE_STRING
        dims: [ 1 ]
      },
      { name: 'max_tokens', data_type: TYPE_INT32, dims: [ 1 ] }
    ]
    dynamic_batching {
        preferred_batch_size: [ 8 ]
        default_queue_policy: { max_queue_size: 0 }
    }
    instance_group [ { count: 1 kind : KIND_CPU } ]
    """
    config = loads(text)
    inputs = fields(config, "input")
    assert [field(i, "name") for i in inputs] == ["text_input", "max_tokens"]
    assert field(inputs[1], "data_type") == Enum("TYPE_INT32")
    assert (
        field(field(field(config, "dynamic_batching"), "default_queue_policy"), "max_queue_size")
        == 0
    )
    assert field(fields(config, "instance_group")[0], "kind") == Enum("KIND_CPU")


@pytest.mark.parametrize(
    "text,problem",
    [
        ('name: "x', "unexpected"),
        ("input [ { name: 1 }", "expected ']'"),
        ("max_batch_size 4", "expected ':'"),
        ("{ name: 1 }", "expected a field name"),
    ],
)
def test_malformed_text_is_refused(text, problem):
    with pytest.raises(ParseError, match=problem):
        loads(text)
