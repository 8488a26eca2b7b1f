"""The plugin registry: built-ins, runtime registration, entry points, and errors that say what to do."""

from __future__ import annotations

import importlib
import sys
import textwrap
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from llmops_core import (
    KINDS,
    Finding,
    GuardInput,
    PluginContext,
    PluginRef,
    PluginRegistry,
    Settings,
)
from llmops_core.errors import ConfigError, PluginError, PluginNotFoundError
from llmops_guards.size_limit import SizeLimitGuard


class ShoutConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    volume: int = Field(default=1, ge=1, le=11)


class ShoutGuard:
    """A guard registered at runtime: flags text written in capitals."""

    name: ClassVar[str] = "shout"
    Config: ClassVar[type[BaseModel]] = ShoutConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input"})
    description: ClassVar[str] = "Text in capitals."

    def __init__(self, config: ShoutConfig, context: PluginContext) -> None:
        self.config = config
        self.context = context

    async def check(self, item: GuardInput) -> list[Finding]:
        return [Finding("shout", 1.0, "capitals")] if item.text.isupper() else []


@pytest.fixture
def context(tmp_path) -> PluginContext:
    return PluginContext(Settings(data_dir=tmp_path))


def test_the_built_ins_are_registered_by_kind():
    registry = PluginRegistry(load_entry_points=False)
    assert set(registry.available("guard")) == {
        "banned-phrases",
        "banned-topics",
        "groundedness",
        "harm",
        "json-schema",
        "pii",
        "prompt-injection",
        "refusal",
        "secrets",
        "size-limit",
        "smuggling",
        "system-prompt-leak",
        "token-limit",
    }
    assert registry.available("vector_store")["embedded"].origin == "builtin"
    assert registry.describe()["event_sink"] == ["redis-stream (builtin)"]
    assert set(registry.describe()) == set(KINDS)


def test_an_unknown_plugin_lists_what_is_installed_and_the_entry_point_group():
    registry = PluginRegistry(load_entry_points=False)
    with pytest.raises(PluginNotFoundError) as caught:
        registry.load_class("guard", "toxicity")
    error = caught.value
    assert "no guard plugin named 'toxicity'" in error.message
    assert "installed: banned-phrases, banned-topics, groundedness, harm, json-schema, pii" in (
        error.message
    )
    assert "'llmops.guards'" in error.message
    assert (error.kind, error.plugin, error.reason) == ("guard", "toxicity", "PLUGIN_NOT_FOUND")


def test_a_kind_without_plugins_says_none_are_installed():
    with pytest.raises(PluginNotFoundError, match="installed: none"):
        PluginRegistry(load_entry_points=False).load_class("detector", "drift")


@pytest.mark.parametrize("call", ["available", "load_class", "register"])
def test_an_unknown_kind_lists_the_kinds(call):
    registry = PluginRegistry(load_entry_points=False)
    arguments = {"available": (), "load_class": ("x",), "register": ("x", "mod:attr")}[call]
    with pytest.raises(
        PluginError, match="unknown plugin kind 'widget'; kinds are: prompt_store, "
    ) as caught:
        getattr(registry, call)("widget", *arguments)
    assert not isinstance(caught.value, PluginNotFoundError)


def test_a_target_that_cannot_be_imported_names_the_module():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(
        "guard", "ghost", "llmops_no_such_package.guards:GhostGuard", origin="ghost-dist"
    )
    with pytest.raises(PluginError) as caught:
        registry.load_class("guard", "ghost")
    message = caught.value.message
    assert "guard plugin 'ghost' (ghost-dist) cannot be imported" in message
    assert "Install the package that provides 'llmops_no_such_package.guards'" in message
    assert caught.value.reason == "PLUGIN_ERROR"


def test_a_target_without_the_attribute_names_module_and_attribute():
    registry = PluginRegistry(load_entry_points=False)
    registry.register("guard", "typo", "llmops_guards.pii:PiiGaurd")
    with pytest.raises(PluginError, match="module 'llmops_guards.pii' has no attribute 'PiiGaurd'"):
        registry.load_class("guard", "typo")


def test_runtime_registration_builds_the_plugin_with_validated_config(context):
    registry = PluginRegistry(load_entry_points=False)
    registry.register("guard", "shout", f"{__name__}:ShoutGuard")
    guard = registry.create("guard", PluginRef(plugin="shout", config={"volume": 11}), context)
    assert isinstance(guard, ShoutGuard)
    assert guard.config.volume == 11
    assert guard.context is context
    assert "shout (runtime)" in registry.describe()["guard"]


def test_registering_a_name_again_replaces_the_built_in(context):
    registry = PluginRegistry(load_entry_points=False)
    registry.register("guard", "pii", f"{__name__}:ShoutGuard", origin="override")
    assert registry.load_class("guard", "pii") is ShoutGuard
    assert registry.available("guard")["pii"].origin == "override"


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"max_chars": 0}, "max_chars: Input should be greater than or equal to 1"),
        ({"max_char": 10}, "max_char: Extra inputs are not permitted"),
        ({"action": "explode"}, "action: Input should be"),
    ],
)
def test_a_bad_plugin_config_names_the_key_to_fix(context, config, problem):
    registry = PluginRegistry(load_entry_points=False)
    ref = PluginRef(plugin="size-limit", config=config)
    with pytest.raises(ConfigError) as caught:
        registry.create("guard", ref, context, key="guardrails.input_guards.0")
    assert caught.value.message.startswith("invalid guardrails.input_guards.0.config: ")
    assert problem in caught.value.message


def test_without_a_key_the_config_error_names_kind_and_plugin(context):
    with pytest.raises(ConfigError, match="invalid guard 'size-limit' config: max_chars"):
        PluginRegistry(load_entry_points=False).create(
            "guard", PluginRef(plugin="size-limit", config={"max_chars": -3}), context
        )


def test_a_bad_guard_config_stops_the_guardrails_server_naming_its_place(settings):
    from guardrails.main import create_server

    data = settings.model_dump()
    data["guardrails"]["output_guards"][1]["config"] = {"categories": ["email", "shoe-size"]}
    with pytest.raises(ConfigError) as caught:
        create_server(Settings.model_validate(data), PluginRegistry(load_entry_points=False))
    message = caught.value.message
    assert message.startswith(
        "invalid configuration: guardrails.output_guards.1: invalid options for 'pii': categories"
    )
    assert "pii.shoe_size" in message


def test_built_ins_create_with_defaults(context):
    guard = PluginRegistry(load_entry_points=False).create(
        "guard", PluginRef(plugin="size-limit"), context
    )
    assert isinstance(guard, SizeLimitGuard)
    assert guard.config.max_chars == 4000


@pytest.fixture
def third_party_distribution(tmp_path):
    """A real installed distribution (dist-info with entry_points.txt) on sys.path."""
    site = tmp_path / "site"
    package = site / "acme_llmops_guards"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from typing import ClassVar

            from llmops_core import Finding


            class BannedWordGuard:
                name: ClassVar[str] = "banned-word"
                Config = None
                stages = frozenset({"input", "output"})
                description = "The word 'banana'."

                def __init__(self, config, context):
                    self.config = config

                async def check(self, item):
                    found = "banana" in item.text
                    return [Finding("banned", 1.0, "banana")] if found else []
            """
        )
    )
    info = site / "acme_llmops_guards-1.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-llmops-guards\nVersion: 1.2.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[llmops.guards]\nbanned-word = acme_llmops_guards:BannedWordGuard\n\n"
        "[llmops.event_sinks]\nnowhere = acme_llmops_guards.missing:Sink\n"
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield "acme-llmops-guards"
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("acme_llmops_guards", None)
        importlib.invalidate_caches()


async def test_third_party_plugins_are_found_through_entry_points(
    third_party_distribution, context
):
    registry = PluginRegistry()
    source = registry.available("guard")["banned-word"]
    assert (source.origin, source.target) == (
        third_party_distribution,
        "acme_llmops_guards:BannedWordGuard",
    )
    assert f"banned-word ({third_party_distribution})" in registry.describe()["guard"]
    guard = registry.create("guard", PluginRef(plugin="banned-word"), context)
    assert guard.config is None  # a plugin without a Config model gets no config
    assert await guard.check(GuardInput("a banana split", "input"))
    # A declared entry point whose module is absent fails when chosen, naming the distribution.
    with pytest.raises(
        PluginError, match=r"event_sink plugin 'nowhere' \(acme-llmops-guards\) cannot be imported"
    ):
        registry.load_class("event_sink", "nowhere")


def test_entry_points_can_be_left_out(third_party_distribution):
    assert "banned-word" not in PluginRegistry(load_entry_points=False).available("guard")


def test_the_distribution_is_gone_once_removed_from_the_path():
    assert "banned-word" not in PluginRegistry().available("guard")
