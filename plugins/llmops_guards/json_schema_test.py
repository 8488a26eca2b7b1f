"""JSON-schema validity: mismatches named by path, fences, broken schemas, hostile answers."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pydantic import ValidationError

from llmops_core import GuardInput, PluginContext, Settings
from llmops_guards.json_schema import JsonSchemaConfig, JsonSchemaGuard

ORDER = {
    "type": "object",
    "required": ["name", "items"],
    "properties": {
        "name": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["price"],
                "properties": {"price": {"type": "number", "minimum": 0}},
            },
        },
    },
    "additionalProperties": False,
}


def _guard(**options) -> JsonSchemaGuard:
    config = JsonSchemaConfig.model_validate({"schema": ORDER, **options})
    return JsonSchemaGuard(config, PluginContext(Settings()))


async def _check(text: str, **options):
    findings = await _guard(**options).check(GuardInput(text, "output"))
    assert all(f.score == 1.0 for f in findings)
    return [(f.category, f.message) for f in findings]


async def test_a_valid_answer_has_no_finding():
    assert await _check('{"name": "a", "items": [{"price": 1.5}]}') == []


async def test_a_mismatch_names_the_failing_path():
    answer = '{"name": "a", "items": [{"price": 1}, {"price": -2}]}'
    assert await _check(answer) == [
        ("schema.mismatch", "$.items[1].price: -2 is less than the minimum of 0")
    ]
    [(category, message)] = await _check('{"name": 3, "items": [], "extra": true}')
    assert category == "schema.mismatch" and message.endswith("(2 errors)")


async def test_text_that_is_not_json_is_invalid_json_with_its_position():
    text = '{"name": "a", "items": [}'
    findings = await _guard().check(GuardInput(text, "output"))
    [finding] = findings
    assert finding.category == "schema.invalid_json"
    assert "line 1 column 25" in finding.message and finding.spans == ((24, 25),)
    assert await _check("") == [
        ("schema.invalid_json", "not JSON: Expecting value at line 1 column 1")
    ]


async def test_a_fenced_block_counts_only_when_allowed():
    answer = 'Here it is:\n```json\n{"name": "a", "items": [{"price": "x"}]}\n```\nDone.'
    assert [c for c, _ in await _check(answer)] == ["schema.invalid_json"]
    assert await _check(answer, allow_code_fence=True) == [
        ("schema.mismatch", "$.items[0].price: 'x' is not of type 'number'")
    ]
    plain = '```\n{"name": "a", "items": []}\n```'
    assert await _check(plain, allow_code_fence=True) == []


async def test_the_default_schema_accepts_any_json():
    guard = JsonSchemaGuard(JsonSchemaConfig(), PluginContext(Settings()))
    assert await guard.check(GuardInput("[1, 2, 3]", "output")) == []
    [finding] = await guard.check(GuardInput("Sure! [1, 2]", "output"))
    assert finding.category == "schema.invalid_json"


async def test_formats_are_checked_when_asked():
    schema = {"type": "object", "properties": {"mail": {"type": "string", "format": "email"}}}
    answer = '{"mail": "not an address"}'
    loose = JsonSchemaGuard(
        JsonSchemaConfig.model_validate({"schema": schema}), PluginContext(Settings())
    )
    strict = JsonSchemaGuard(
        JsonSchemaConfig.model_validate({"schema": schema, "check_formats": True}),
        PluginContext(Settings()),
    )
    assert await loose.check(GuardInput(answer, "output")) == []
    [finding] = await strict.check(GuardInput(answer, "output"))
    assert finding.message.startswith("$.mail:")


async def test_references_inside_the_schema_resolve():
    schema = {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}}
    guard = JsonSchemaGuard(
        JsonSchemaConfig.model_validate({"schema": schema}), PluginContext(Settings())
    )
    [finding] = await guard.check(GuardInput('[1, "two"]', "output"))
    assert finding.message == "$[1]: 'two' is not of type 'integer'"


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "strng"}, "not a valid JSON Schema at $.type"),
        ({"properties": {"a": {"minimum": "zero"}}}, "at $.properties.a.minimum: 'zero' is not"),
        ({"$ref": "https://example.com/order.json"}, "nothing is fetched"),
    ],
)
def test_an_invalid_schema_is_refused_at_configuration(schema, message):
    with pytest.raises(ValidationError, match=message.replace("$", r"\$").replace(".", r"\.")):
        JsonSchemaConfig.model_validate({"schema": schema})


def test_the_option_is_called_schema():
    config = JsonSchemaConfig.model_validate({"schema": {"type": "object"}})
    assert config.model_dump(by_alias=True)["schema"] == {"type": "object"}
    assert (config.action, JsonSchemaGuard.categories) == (
        "block",
        ("schema.invalid_json", "schema.mismatch"),
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "JSON nested 100000 deep, more than 64"),
        ('{"a": ' * 25_000 + "1" + "}" * 25_000, "JSON nested 25000 deep, more than 64"),
        ("[" * 150_000, "JSON nested 150000 deep, more than 64"),
        ('"' + "x" * 10_000_000 + '"', "the answer is longer than 200000 characters"),
    ],
    ids=["deep-array", "deep-object", "unclosed", "10-MB"],
)
async def test_hostile_answers_are_refused_in_bounded_time(answer, message):
    started = time.perf_counter()
    assert await _check(answer) == [("schema.invalid_json", message)]
    assert time.perf_counter() - started < 1.0


async def test_brackets_inside_strings_do_not_count_as_nesting():
    answer = json.dumps({"name": "[[[[" * 1000 + '\\"{{{', "items": []})
    assert await _check(answer) == []


async def test_a_large_answer_is_validated_off_the_event_loop():
    items = [{"price": i} for i in range(10_000)]
    answer = json.dumps({"name": "big", "items": items[:-1] + [{"price": -1}]})
    assert len(answer) < 200_000
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    assert await _check(answer) == [
        ("schema.mismatch", "$.items[9999].price: -1 is less than the minimum of 0")
    ]
    elapsed = time.perf_counter() - started
    ticker.cancel()
    assert elapsed < 5.0
    # On the loop, validation would leave the ticker no turn at all; beside a thread it
    # gets some (the thread holds the GIL most of the time).
    assert elapsed > 0.1 and ticks >= 3
