"""``{{variable}}`` templates: parsing, single-pass rendering, and error positions."""

from __future__ import annotations

import pytest

from llmops_core.errors import InvalidArgumentError
from llmops_core.templates import check_values, parse


@pytest.mark.parametrize(
    ("text", "variables", "rendered"),
    [
        ("", [], ""),
        ("no variables at all", [], "no variables at all"),
        ("Hi {{name}}!", ["name"], "Hi Ada!"),
        ("Hi {{   name   }}!", ["name"], "Hi Ada!"),
        ("{{name}}", ["name"], "Ada"),
        ("{{a}}{{b}}", ["a", "b"], "12"),
        ("{{ b }} {{a}} {{ b }}", ["b", "a"], "2 1 2"),  # first appearance order, no duplicates
        ("{{_x9}} and {{ A_b }}", ["_x9", "A_b"], "x and y"),
        ("multi\nline {{name}}\n", ["name"], "multi\nline Ada\n"),
        ("a { single } brace and {{name}}", ["name"], "a { single } brace and Ada"),
    ],
)
def test_parse_finds_variables_and_render_fills_them(text, variables, rendered):
    values = {"name": "Ada", "a": "1", "b": "2", "_x9": "x", "A_b": "y"}
    template = parse(text)
    assert template.variables == variables
    assert template.render(values) == rendered


def test_values_that_look_like_variables_are_inserted_verbatim():
    template = parse("Context: {{context}}\nQ: {{question}}")
    rendered = template.render(
        {"context": "{{question}} and {{ secret }}", "question": "{{context}}"}
    )
    assert rendered == "Context: {{question}} and {{ secret }}\nQ: {{context}}"


def test_a_value_with_braces_and_newlines_does_not_change_the_parts():
    template = parse("[{{x}}]")
    assert template.render({"x": "}}\n{{"}) == "[}}\n{{]"
    assert template.parts == ("[", "x", "]")


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        ("Hi {{ name ", "line 1 column 4", "never closed"),
        ("first line\nsecond {{ x", "line 2 column 8", "never closed"),
        ("Hi name }}", "line 1 column 9", "without a matching"),
        ("ok {{a}}\n\n  }} stray", "line 3 column 3", "without a matching"),
        ("Hi {{ 1x }}", "line 1 column 4", "is not a variable"),
        ("{{}}", "line 1 column 1", "is not a variable"),
        ("{{ two words }}", "line 1 column 1", "is not a variable"),
        ("{{ a-b }}", "line 1 column 1", "is not a variable"),
        ("a\nb\nc {{ x.y }}", "line 3 column 3", "is not a variable"),
        ("é {{", "line 1 column 3", "never closed"),  # columns count characters, not bytes
    ],
)
def test_malformed_templates_name_line_and_column(text, position, problem):
    with pytest.raises(InvalidArgumentError) as caught:
        parse(text)
    assert f"template {position}: " in caught.value.message
    assert problem in caught.value.message
    assert caught.value.reason == "MALFORMED_TEMPLATE"


def test_the_error_names_where_the_template_sits():
    with pytest.raises(InvalidArgumentError, match=r"^messages\[1\]\.content line 1 column 3: "):
        parse("x }}", where="messages[1].content")


def test_check_values_names_every_missing_variable_and_returns_unused_ones_sorted():
    required = parse("{{context}} {{question}} {{tone}}").variables
    assert check_values(
        required, {"context": "", "question": "q", "tone": "t", "z": "", "a": ""}
    ) == [
        "a",
        "z",
    ]
    with pytest.raises(InvalidArgumentError) as caught:
        check_values(required, {"question": "q"})
    assert "missing value for variable(s): context, tone" in caught.value.message
    assert caught.value.reason == "MISSING_VARIABLES"
    assert caught.value.metadata == {"missing": "context,tone"}


def test_an_empty_value_is_a_value():
    assert parse("[{{x}}]").render({"x": ""}) == "[]"
    assert check_values(["x"], {"x": ""}) == []
