"""The bot's configuration, read once from the environment and validated at start-up.

A missing or malformed setting stops the process at import (Lambda init) with a message naming the
variable, instead of failing on the first reaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_TRIGGER_EMOJIS = ("triangular_flag_on_post",)  # :triangular_flag_on_post: (a red flag)


class ConfigError(RuntimeError):
    """A required setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class SlackCredentials:
    bot_token: str
    signing_secret: str

    def __repr__(self) -> str:  # never print secrets, even in a traceback
        return "SlackCredentials(bot_token=***, signing_secret=***)"


@dataclass(frozen=True)
class BotConfig:
    endpoint_name: str
    ledger_table: str
    trigger_emojis: tuple[str, ...] = DEFAULT_TRIGGER_EMOJIS
    reply_mode: Literal["thread", "ephemeral"] = "thread"
    # Secrets Manager secret holding {"bot_token": ..., "signing_secret": ...}; empty: env vars.
    secret_id: str = ""
    slack_api_url: str = "https://slack.com/api/"
    dynamodb_endpoint_url: str | None = None
    sagemaker_endpoint_url: str | None = None
    secrets_endpoint_url: str | None = None
    classify_timeout_s: float = 3.0
    classify_attempts: int = 3
    # A claim older than this is presumed crashed and may be taken over (> the lazy run's timeout).
    lease_seconds: int = 45
    ledger_ttl_days: int = 7
    warmup_pings_endpoint: bool = True
    max_text_chars: int = 40_000

    def __post_init__(self) -> None:
        if not self.trigger_emojis or any(not e or ":" in e for e in self.trigger_emojis):
            raise ConfigError("DECORUM_TRIGGER_EMOJIS must list emoji names without colons, e.g. 'rotating_light'")
        if self.reply_mode not in ("thread", "ephemeral"):
            raise ConfigError("DECORUM_REPLY_MODE must be 'thread' or 'ephemeral'")
        if self.classify_timeout_s <= 0 or self.classify_attempts < 1:
            raise ConfigError("DECORUM_CLASSIFY_TIMEOUT_S must be > 0 and DECORUM_CLASSIFY_ATTEMPTS >= 1")
        if self.lease_seconds < 1 or self.ledger_ttl_days < 1:
            raise ConfigError("DECORUM_LEASE_SECONDS must be >= 1 and DECORUM_LEDGER_TTL_DAYS >= 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotConfig:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"{name} is not set")
            return value

        def number(name: str, default: float, kind: type = float):
            raw = env.get(name)
            try:
                return kind(raw) if raw not in (None, "") else kind(default)
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {raw!r}") from None

        emojis = tuple(e.strip().strip(":") for e in env.get("DECORUM_TRIGGER_EMOJIS", "").split(",") if e.strip())
        return cls(
            endpoint_name=required("DECORUM_ENDPOINT_NAME"),
            ledger_table=required("DECORUM_LEDGER_TABLE"),
            trigger_emojis=emojis or DEFAULT_TRIGGER_EMOJIS,
            reply_mode=env.get("DECORUM_REPLY_MODE", "thread"),  # type: ignore[arg-type] - validated above
            secret_id=env.get("DECORUM_SLACK_SECRET_ID", ""),
            slack_api_url=env.get("DECORUM_SLACK_API_URL", "https://slack.com/api/"),
            dynamodb_endpoint_url=env.get("DECORUM_DYNAMODB_ENDPOINT_URL") or None,
            sagemaker_endpoint_url=env.get("DECORUM_SAGEMAKER_ENDPOINT_URL") or None,
            secrets_endpoint_url=env.get("DECORUM_SECRETS_ENDPOINT_URL") or None,
            classify_timeout_s=number("DECORUM_CLASSIFY_TIMEOUT_S", 3.0),
            classify_attempts=number("DECORUM_CLASSIFY_ATTEMPTS", 3, int),
            lease_seconds=number("DECORUM_LEASE_SECONDS", 45, int),
            ledger_ttl_days=number("DECORUM_LEDGER_TTL_DAYS", 7, int),
            warmup_pings_endpoint=env.get("DECORUM_WARMUP_PINGS_ENDPOINT", "true").lower() == "true",
            max_text_chars=number("DECORUM_MAX_TEXT_CHARS", 40_000, int),
        )


def load_credentials(config: BotConfig, env: Mapping[str, str] | None = None, secrets_client=None) -> SlackCredentials:
    """From Secrets Manager when `secret_id` is set (cached by Powertools), else SLACK_* env vars."""
    env = os.environ if env is None else env
    if config.secret_id:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        if secrets_client is None and config.secrets_endpoint_url:
            import boto3

            secrets_client = boto3.client("secretsmanager", endpoint_url=config.secrets_endpoint_url)
        provider = SecretsProvider(boto3_client=secrets_client) if secrets_client else SecretsProvider()
        try:
            raw = provider.get(config.secret_id, max_age=300)
        except Exception as exc:  # noqa: BLE001 - re-raised with the secret's name, never its value
            raise ConfigError(f"cannot read Slack secret {config.secret_id}: {exc.__class__.__name__}") from None
        try:
            values = json.loads(raw if isinstance(raw, str) else raw.decode())
            return SlackCredentials(values["bot_token"], values["signing_secret"])
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"secret {config.secret_id} must be JSON with bot_token and signing_secret") from None
    token, secret = env.get("SLACK_BOT_TOKEN", ""), env.get("SLACK_SIGNING_SECRET", "")
    if not token or not secret:
        raise ConfigError("set DECORUM_SLACK_SECRET_ID, or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
    return SlackCredentials(token, secret)
