"""Configuration: one YAML file, ``LLMOPS_`` overrides, and errors that name the key to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_core import Settings, load_settings
from llmops_core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llmops.yaml"
    path.write_text(text)
    return path


def test_no_file_and_no_overrides_gives_the_defaults():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.gateway.port == 50051
    assert [ref.plugin for ref in settings.guardrails.input_guards] == [
        "size-limit",
        "prompt-injection",
        "token-limit",
        "pii",
        "secrets",
        "smuggling",
        "harm",
    ]


def test_the_file_sets_values_and_an_environment_override_wins(tmp_path):
    path = _write(tmp_path, "gateway:\n  port: 6000\n  top_k: 3\nlog_level: DEBUG\n")
    settings = load_settings(path, environ={"LLMOPS_GATEWAY__PORT": "7000"})
    assert settings.gateway.port == 7000
    assert settings.gateway.top_k == 3
    assert settings.log_level == "DEBUG"
    assert settings.retrieval.port == 50053  # untouched sections keep their defaults


def test_the_file_is_found_through_llmops_config(tmp_path):
    path = _write(tmp_path, "monitoring:\n  port: 6100\n")
    settings = load_settings(environ={"LLMOPS_CONFIG": str(path), "LLMOPS_HOME": "/nowhere"})
    assert settings.monitoring.port == 6100


def test_override_values_are_parsed_as_yaml_and_may_create_sections():
    settings = load_settings(
        environ={
            "LLMOPS_TRITON__ENDPOINTS": "[10.0.0.1:8001, 10.0.0.2:8001]",
            "LLMOPS_REDIS__URL": "redis://cache:6380/2",
            "LLMOPS_RETRIEVAL__STORE": "{plugin: embedded, config: {path: /srv/vectors}}",
            "LLMOPS_GATEWAY__PROMPT_CACHE_TTL_SECONDS": "0",
            "OTHER_VARIABLE": "ignored",
        }
    )
    assert settings.triton.endpoints == ["10.0.0.1:8001", "10.0.0.2:8001"]
    assert settings.redis.url == "redis://cache:6380/2"
    assert settings.retrieval.store.config == {"path": "/srv/vectors"}
    assert settings.gateway.prompt_cache_ttl_seconds == 0


def test_a_bad_override_names_the_key_and_the_variable(tmp_path):
    path = _write(tmp_path, "gateway:\n  port: 6000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"LLMOPS_GATEWAY__PORT": "not-a-port"})
    message = caught.value.message
    assert "gateway.port" in message
    assert "LLMOPS_GATEWAY__PORT" in message
    assert caught.value.reason == "CONFIG_INVALID"


def test_a_bad_value_in_the_file_names_the_key_and_the_file(tmp_path):
    path = _write(tmp_path, "gateway:\n  top_k: 500\n")
    with pytest.raises(ConfigError, match=r"gateway\.top_k: .*less than or equal to 50") as caught:
        load_settings(path, environ={})
    assert str(path) in caught.value.message


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as caught:
        load_settings(
            environ={"LLMOPS_GATEWAY__TOP_K": "0", "LLMOPS_INFERENCE__MAX_TOKENS_LIMIT": "0"}
        )
    assert "gateway.top_k" in caught.value.message
    assert "inference.max_tokens_limit" in caught.value.message


def test_a_port_out_of_range_is_rejected_for_every_service():
    for service in (
        "gateway",
        "prompt_registry",
        "retrieval",
        "guardrails",
        "monitoring",
        "inference",
    ):
        variable = f"LLMOPS_{service.upper()}__PORT"
        for port in ("-1", "70000"):
            with pytest.raises(ConfigError, match=rf"{service}\.port: .*\(from {variable}\)"):
                load_settings(environ={variable: port})


@pytest.mark.parametrize(
    ("yaml_text", "environ", "key"),
    [
        ("gateway:\n  prot: 6000\n", {}, "gateway.prot"),
        ("gatewya:\n  port: 6000\n", {}, "gatewya"),
        ("", {"LLMOPS_RETRIEVAL__MAX_DOCUMENT": "5"}, "retrieval.max_document"),
    ],
)
def test_an_unknown_key_is_an_error_naming_it(tmp_path, yaml_text, environ, key):
    path = _write(tmp_path, yaml_text)
    with pytest.raises(ConfigError, match="Extra inputs are not permitted") as caught:
        load_settings(path, environ=environ)
    assert f"{key}: " in caught.value.message
    for name in environ:
        assert name in caught.value.message


def test_a_missing_file_is_named(tmp_path):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=f"config file {missing} does not exist"):
        load_settings(missing, environ={})


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_a_file_without_a_mapping_at_the_top_is_rejected(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="must hold a mapping at the top level"):
        load_settings(path, environ={})


def test_a_file_that_is_not_yaml_is_rejected(tmp_path):
    path = _write(tmp_path, "gateway: [port: 1\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_settings(path, environ={})


def test_an_empty_file_means_the_defaults(tmp_path):
    assert load_settings(_write(tmp_path, ""), environ={}) == Settings()


def test_an_override_below_a_scalar_names_the_variable(tmp_path):
    path = _write(tmp_path, "log_level: INFO\n")
    with pytest.raises(ConfigError, match="LLMOPS_LOG_LEVEL__X sets a key below 'log_level'"):
        load_settings(path, environ={"LLMOPS_LOG_LEVEL__X": "1"})
