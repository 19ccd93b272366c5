"""Typed configuration of the CDK app: the `decorum` object in cdk.json, overridden by `-c` flags.

    npx cdk deploy --all -c decorum.inference.memory_mb=4096 -c decorum.monitoring.alarm_email=me@x.org

Everything is validated before any construct is made, by the typed loader every component uses
(`handlers/settings.py`) and against the limits AWS enforces at deploy time (so a typo fails
`cdk synth`, not a 20-minute deploy).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from constructs import Node

from handlers.settings import SettingsError, from_mapping, parse_text
from handlers.slack.config import DEFAULT_TRIGGER_EMOJIS, ReplyMode


class InfraConfigError(SettingsError):
    """A context value is missing or out of range; the message names the key."""


@dataclass(frozen=True)
class ModelBuildSettings:
    profile: str = "full"
    compute_type: str = "LARGE"  # SMALL, MEDIUM, LARGE, X_LARGE, X2_LARGE (with gpu: LARGE is a GPU host)
    gpu: bool = False  # build on a GPU image (much faster training for the full profile)
    gpu_image_tag: str = "2.5.1-gpu-py311-cu124-ubuntu22.04-ec2"  # an AWS Deep Learning Containers pytorch-training tag
    timeout_minutes: int = 120
    model_package_group: str = "decorum-toxicity"
    # Register builds as Approved (deployed at once) instead of PendingManualApproval.
    approve_when_gates_pass: bool = False

    def __post_init__(self) -> None:
        if self.profile not in ("quick", "full"):
            raise InfraConfigError("decorum.model_build.profile must be 'quick' or 'full'")
        if self.compute_type not in ("SMALL", "MEDIUM", "LARGE", "X_LARGE", "X2_LARGE"):
            raise InfraConfigError("decorum.model_build.compute_type must be SMALL, MEDIUM, LARGE, X_LARGE or X2_LARGE")
        if not 5 <= self.timeout_minutes <= 480:
            raise InfraConfigError("decorum.model_build.timeout_minutes must be in [5, 480]")


@dataclass(frozen=True)
class InferenceSettings:
    # "registry": the endpoint serves the approved version of the Model Package Group; the deployer
    # (infra/deployment.py) creates it on the first approval and moves it on every later one.
    # "asset": a local artifact (`make model`) is uploaded and served; "version": a published version.
    model_source: Literal["registry", "asset", "version"] = "registry"
    model_artifact: str = "build/model/model.tar.gz"
    model_version: str = ""
    memory_mb: int = 2048
    max_concurrency: int = 20
    provisioned_concurrency: int = 0
    intra_op_threads: int = 0  # 0: one per vCPU the memory size gives

    def __post_init__(self) -> None:
        if self.model_source == "version" and not self.model_version:
            raise InfraConfigError("decorum.inference.model_version is required when model_source is 'version'")
        if self.memory_mb not in range(1024, 6145, 1024):
            raise InfraConfigError("decorum.inference.memory_mb must be 1024, 2048, ... 6144 (ServerlessConfig)")
        if not 1 <= self.max_concurrency <= 200:
            raise InfraConfigError("decorum.inference.max_concurrency must be in [1, 200]")
        if not 0 <= self.provisioned_concurrency <= self.max_concurrency:
            raise InfraConfigError("decorum.inference.provisioned_concurrency must be in [0, max_concurrency]")


@dataclass(frozen=True)
class SlackSettings:
    function_name: str = "decorum-slack-bot"  # fixed: the function invokes itself (lazy listeners)
    memory_mb: int = 512
    timeout_seconds: int = 30
    trigger_emojis: tuple[str, ...] = DEFAULT_TRIGGER_EMOJIS
    reply_mode: ReplyMode = "thread"
    warmup_minutes: int = 5  # 0: no warm-up rule
    warmup_pings_endpoint: bool = True
    provisioned_concurrency: int = 0
    snap_start: bool = False
    explain: bool = True  # name the words that drove a verdict
    # Votes on verdicts: kept this many days; with the message text only when the workspace opts in.
    feedback_ttl_days: int = 90
    feedback_keep_text: bool = False
    # Many workspaces: an "Add to Slack" install page and OAuth (tokens per workspace in S3); the secret
    # then holds client_id, client_secret and signing_secret. Off: one workspace, its bot token.
    oauth: bool = False

    def __post_init__(self) -> None:
        if self.provisioned_concurrency and self.snap_start:
            raise InfraConfigError("decorum.slack: snap_start and provisioned_concurrency exclude each other")
        if not 5 <= self.timeout_seconds <= 60:
            raise InfraConfigError("decorum.slack.timeout_seconds must be in [5, 60]")
        if not 128 <= self.memory_mb <= 10240:
            raise InfraConfigError("decorum.slack.memory_mb must be in [128, 10240]")


@dataclass(frozen=True)
class MonitoringSettings:
    alarm_email: str = ""
    model_latency_p99_ms: float = 100.0
    overhead_latency_p99_ms: float = 500.0
    model_setup_time_ms: float = 10_000.0
    lambda_duration_p99_ms: float = 2_500.0  # Slack waits 3 s for the ack
    reaction_to_reply_p99_ms: float = 2_000.0
    async_event_age_ms: float = 120_000.0  # Lambda's max event age for lazy checks is 240 s
    endpoint_4xx_per_period: float = 5.0  # refused requests per 5 minutes
    endpoint_concurrency_utilization: float = 0.9  # of the endpoint's MaxConcurrency
    # People said "wrong" to this share of the live model's verdicts in an hour (with enough votes).
    feedback_wrong_rate_percent: float = 40.0
    feedback_min_votes: float = 5.0

    def __post_init__(self) -> None:
        if self.alarm_email and ("@" not in self.alarm_email or any(c.isspace() for c in self.alarm_email)):
            raise InfraConfigError(f"decorum.monitoring.alarm_email must be one address, got {self.alarm_email!r}")
        for f in dataclasses.fields(self):
            if f.name != "alarm_email" and not getattr(self, f.name) > 0:
                raise InfraConfigError(f"decorum.monitoring.{f.name} must be > 0")
        if self.feedback_wrong_rate_percent > 100:
            raise InfraConfigError("decorum.monitoring.feedback_wrong_rate_percent must be at most 100")


@dataclass(frozen=True)
class DecorumConfig:
    prefix: str = "decorum"
    model_build: ModelBuildSettings = field(default_factory=ModelBuildSettings)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)

    def __post_init__(self) -> None:
        if not self.prefix.replace("-", "").isalnum() or len(self.prefix) > 20:
            raise InfraConfigError("decorum.prefix must be alphanumeric (dashes allowed), at most 20 characters")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DecorumConfig:
        return from_mapping(cls, raw, "decorum", InfraConfigError)

    @classmethod
    def from_node(cls, node: Node) -> DecorumConfig:
        """cdk.json's `decorum` object, then `-c decorum.<section>.<key>=value` overrides, read as text
        the way environment variables are (`4096`, `true`, `a,b` or a JSON list)."""
        raw = json.loads(json.dumps(node.try_get_context("decorum") or {}))
        hints = typing.get_type_hints(cls)
        for section, section_type in hints.items():
            if not dataclasses.is_dataclass(section_type):
                continue
            for name, hint in typing.get_type_hints(section_type).items():
                key = f"decorum.{section}.{name}"
                value = node.try_get_context(key)
                if isinstance(value, str):
                    value = parse_text(hint, value, key, InfraConfigError)
                if value is not None:
                    raw.setdefault(section, {})[name] = value
        return cls.from_dict(raw)
