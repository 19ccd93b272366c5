"""One stack per concern, wired together; cdk-nag's AwsSolutions checks run on every synth."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra.config import DecorumConfig
from infra.inference import Inference
from infra.model_build import ModelBuild
from infra.monitoring import Monitoring
from infra.slack import SlackBot


class ModelBuildStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DecorumConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, description="Decorum: model artifacts and the model-build job",
                         **kwargs)
        self.model_build = ModelBuild(self, "ModelBuild", settings=config.model_build, prefix=config.prefix)


class InferenceStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DecorumConfig, model_build: ModelBuild,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, description="Decorum: the SageMaker serverless endpoint", **kwargs)
        self.inference = Inference(self, "Inference", settings=config.inference, prefix=config.prefix,
                                   artifact_bucket=model_build.bucket, artifact_key=model_build.key,
                                   model_package_group=config.model_build.model_package_group)


class SlackBotStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DecorumConfig, inference: Inference,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, description="Decorum: the Slack bot Lambda and its state", **kwargs)
        self.bot = SlackBot(self, "SlackBot", settings=config.slack, prefix=config.prefix,
                            endpoint_name=inference.endpoint_name, endpoint_arn=inference.endpoint_arn,
                            endpoint_max_concurrency=config.inference.max_concurrency)


class MonitoringStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DecorumConfig, inference: Inference,
                 bot: SlackBot, **kwargs) -> None:
        super().__init__(scope, construct_id, description="Decorum: alarms and the on-call dashboard", **kwargs)
        self.monitoring = Monitoring(self, "Monitoring", settings=config.monitoring, prefix=config.prefix,
                                     endpoint_name=inference.endpoint_name, variant_name=inference.variant_name,
                                     function_name=bot.function_name, dead_letters=bot.dead_letters,
                                     deployer_function_name=(inference.deployer.function.function_name
                                                             if inference.deployer else None))


@dataclass
class DecorumApp:
    model_build: ModelBuildStack
    inference: InferenceStack
    slack_bot: SlackBotStack
    monitoring: MonitoringStack

    @property
    def stacks(self) -> list[Stack]:
        return [self.model_build, self.inference, self.slack_bot, self.monitoring]


def build_app(app: App, config: DecorumConfig) -> DecorumApp:
    name = config.prefix.title().replace("-", "")
    model_build = ModelBuildStack(app, f"{name}ModelBuild", config=config)
    inference = InferenceStack(app, f"{name}Inference", config=config, model_build=model_build.model_build)
    slack_bot = SlackBotStack(app, f"{name}SlackBot", config=config, inference=inference.inference)
    monitoring = MonitoringStack(app, f"{name}Monitoring", config=config, inference=inference.inference,
                                 bot=slack_bot.bot)
    decorum = DecorumApp(model_build, inference, slack_bot, monitoring)
    for stack in decorum.stacks:
        Tags.of(stack).add("project", "decorum")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # each construct acknowledges its own findings
    return decorum
