"""handlers/settings.py: the one typed loader (TOML/JSON tables, environment variables, `-c` text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from handlers.inference.settings import Limits, ModelSettings
from handlers.settings import SettingsError, env_name, from_env, from_mapping, to_env
from handlers.slack.config import BotConfig


@dataclass(frozen=True)
class Sample:
    name: str
    mode: Literal["a", "b"] = "a"
    ratio: float = 0.5
    count: int = 1
    flag: bool = False
    tags: tuple[str, ...] = ()
    url: str | None = None


def test_a_bad_variable_is_named_with_its_value() -> None:
    with pytest.raises(SettingsError, match=r"DECORUM_BATCH_SIZE must be an integer, got 'abc'"):
        from_env(ModelSettings, {"DECORUM_BATCH_SIZE": "abc"})
    with pytest.raises(SettingsError, match=r"DECORUM_LONG_TEXT must be one of \('window', 'truncate'\)"):
        from_env(ModelSettings, {"DECORUM_LONG_TEXT": "cut"})
    with pytest.raises(SettingsError, match="DECORUM_FLAG must be true or false"):
        from_env(Sample, {"DECORUM_NAME": "x", "DECORUM_FLAG": "yes"})
    with pytest.raises(SettingsError, match="DECORUM_NAME is not set"):
        from_env(Sample, {"DECORUM_NAME": "  "})


def test_environment_values_take_their_field_types_and_overrides_win() -> None:
    env = {"DECORUM_NAME": "x", "DECORUM_MODE": "b", "DECORUM_RATIO": "2", "DECORUM_COUNT": "7",
           "DECORUM_FLAG": "TRUE", "DECORUM_TAGS": " p, q ,", "DECORUM_URL": "http://h"}
    assert from_env(Sample, env, count=9) == Sample("x", "b", 2.0, 9, True, ("p", "q"), "http://h")
    assert from_env(Limits, {}, max_inputs=None) == Limits()


@pytest.mark.parametrize("settings", [
    Sample("x", "b", 0.25, 3, True, ("p", "q")),
    BotConfig(endpoint_name="e", ledger_table="t", trigger_emojis=("a", "b"), reply_mode="ephemeral",
              classify_timeout_s=2.5, warmup_pings_endpoint=False, dynamodb_endpoint_url="http://127.0.0.1:5000"),
    ModelSettings(intra_op_threads=2, long_text="truncate"),
])
def test_what_the_stack_writes_the_runtime_reads_back(settings) -> None:
    env = to_env(settings)
    assert all(name.startswith("DECORUM_") and isinstance(value, str) for name, value in env.items())
    assert from_env(type(settings), env) == settings


def test_tables_are_checked_key_by_key() -> None:
    assert from_mapping(Sample, {"name": "x", "ratio": 1, "tags": ["p"]}) == Sample("x", ratio=1.0, tags=("p",))
    with pytest.raises(SettingsError, match=r"unknown key\(s\) in sample: \['nmae'\]"):
        from_mapping(Sample, {"nmae": "x"}, "sample")
    with pytest.raises(SettingsError, match="sample.count must be int, got bool"):
        from_mapping(Sample, {"name": "x", "count": True}, "sample")
    with pytest.raises(SettingsError, match="sample.mode must be one of"):
        from_mapping(Sample, {"name": "x", "mode": "c"}, "sample")


def test_validation_messages_name_the_variable() -> None:
    with pytest.raises(SettingsError, match=env_name("window_overlap")):
        ModelSettings(window_tokens=8, window_overlap=8)
    with pytest.raises(SettingsError, match="DECORUM_REPLY_MODE"):
        BotConfig.from_env({"DECORUM_ENDPOINT_NAME": "e", "DECORUM_LEDGER_TABLE": "t", "DECORUM_REPLY_MODE": "dm"})
