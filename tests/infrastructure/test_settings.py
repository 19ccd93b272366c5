"""What the stacks set against what the runtimes read: every variable the bot and the serving container
read through `handlers/settings.py` is one the stack writes, under the same name, with a valid value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App

from handlers.deployer.deploy import DeployerConfig
from handlers.inference.settings import ModelSettings
from handlers.settings import env_names, from_env, required_env_names
from handlers.slack.config import BotConfig
from infra.config import DecorumConfig, InfraConfigError
from model_build.publish import SERVING_IMAGE_ENV
from tests.infrastructure.conftest import synth


def _as_text(variables: dict) -> dict[str, str]:
    """CloudFormation tokens (a Ref, a GetAtt) stand for strings only AWS knows: any text will do."""
    return {name: value if isinstance(value, str) else "resolved-at-deploy" for name, value in variables.items()}


def test_the_bot_reads_every_variable_the_stack_sets_and_the_stack_sets_what_it_needs(default_app) -> None:
    (function,) = default_app[1]["DecorumSlackBot"].find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handlers.slack.lambda_handler.handler"}}).values()
    variables = _as_text(function["Properties"]["Environment"]["Variables"])
    decorum = {name for name in variables if name.startswith("DECORUM_")}
    assert decorum <= set(env_names(BotConfig)), f"set but never read: {decorum - set(env_names(BotConfig))}"
    assert set(required_env_names(BotConfig)) <= decorum
    config = BotConfig.from_env(variables)
    assert config.lease_seconds > 30 and config.reply_mode == "thread"  # timeout 30 s; cdk.json's mode


def test_the_deployer_and_the_container_it_configures_read_what_the_stack_sets(default_app) -> None:
    (deployer,) = default_app[1]["DecorumInference"].find_resources("AWS::Lambda::Function", {"Properties": {
        "Handler": "handlers.deployer.lambda_handler.handler"}}).values()
    variables = _as_text(deployer["Properties"]["Environment"]["Variables"])
    assert set(required_env_names(DeployerConfig)) <= set(variables) <= set(env_names(DeployerConfig))
    config = from_env(DeployerConfig, variables)
    container = json.loads(config.environment)  # what every model the deployer makes is given
    decorum = {name for name in container if name.startswith("DECORUM_")}
    assert decorum <= set(env_names(ModelSettings))
    from_env(ModelSettings, container)


def test_a_cloudformation_endpoint_gets_the_same_container_settings(tmp_path: Path) -> None:
    _, templates = synth(tmp_path, {"inference": {"model_source": "version", "model_version": "v1",
                                                  "intra_op_threads": 2}})
    (model,) = templates["DecorumInference"].find_resources("AWS::SageMaker::Model").values()
    variables = _as_text(model["Properties"]["PrimaryContainer"]["Environment"])
    assert from_env(ModelSettings, variables).intra_op_threads == 2


def test_the_build_job_is_given_the_serving_image_its_registry_entries_name(default_app) -> None:
    (project,) = default_app[1]["DecorumModelBuild"].find_resources("AWS::CodeBuild::Project").values()
    names = {v["Name"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert SERVING_IMAGE_ENV in names


def test_context_flags_are_read_as_text_with_their_types() -> None:
    """`npx cdk deploy -c decorum.inference.memory_mb=4096 -c decorum.slack.trigger_emojis=a,b`."""
    app = App(context={"decorum.inference.memory_mb": "4096", "decorum.slack.trigger_emojis": "a,b",
                       "decorum.slack.snap_start": "true", "decorum.monitoring.model_latency_p99_ms": "80"})
    config = DecorumConfig.from_node(app.node)
    assert config.inference.memory_mb == 4096 and config.slack.trigger_emojis == ("a", "b")
    assert config.slack.snap_start is True and config.monitoring.model_latency_p99_ms == 80.0
    with pytest.raises(InfraConfigError, match="decorum.inference.memory_mb must be an integer"):
        DecorumConfig.from_node(App(context={"decorum.inference.memory_mb": "4GB"}).node)
