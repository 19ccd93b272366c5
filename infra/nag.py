"""cdk-nag AwsSolutions findings this design accepts, each acknowledged on the one construct it
concerns, with its reason. Anything new fails `cdk synth` until it is fixed or reasoned here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from model_build.publish import MODELS_PREFIX

if TYPE_CHECKING:
    from infra.stacks import DecorumApp

LAMBDA_BASIC = "CloudWatch Logs writing only (AWSLambdaBasicExecutionRole); nothing else is granted by it."


def _ack(construct: IConstruct, **reasons: str) -> None:
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason) for rule, reason in reasons.items()))


def _ack_findings(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledges individual findings of a rule (e.g. one wildcard of IAM5), not the whole rule."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}[{finding}]", reason=reason) for finding in findings))


def _arn(construct: IConstruct) -> str:
    """How cdk-nag writes a construct's ARN token in a finding: <LogicalId.Arn>."""
    resource = construct.node.default_child or construct
    return f"<{Stack.of(construct).get_logical_id(resource)}.Arn>"


def _logical(construct: IConstruct) -> str:
    resource = construct.node.default_child or construct
    return f"<{Stack.of(construct).get_logical_id(resource)}>"


LAMBDA_BASIC_FINDING = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
CDK_GRANT_ACTIONS = ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*")


def acknowledge_findings(app: DecorumApp) -> None:
    build = app.model_build.model_build
    _ack(build.bucket, S1="Holds build outputs only; reads are by the endpoint role and the build; enable "
                          "CloudTrail S3 data events for an access audit instead of a second logging bucket.")
    project = _logical(build.project)
    _ack_findings(
        build.project, "IAM5",
        "CDK's grants to the build: its own log group and report groups, the hash-addressed CDK asset objects "
        "(source, data), data-key actions on the project's KMS key, the models/ prefix of the artifact bucket, "
        "and the packages of this model package group.",
        *CDK_GRANT_ACTIONS, "Action::s3:DeleteObject*", "Action::s3:Abort*", "Action::kms:GenerateDataKey*",
        "Action::kms:ReEncrypt*", f"Resource::{_arn(build.bucket)}/{MODELS_PREFIX}/*",
        "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
        f"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/{project}:*",
        f"Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/{project}-*",
        f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/"
        f"{app.model_build.model_build_settings.model_package_group}/*",
    )
    if app.model_build.model_build_settings.gpu:
        _ack(build.project, CB5="GPU builds use an AWS Deep Learning Containers PyTorch image (AWS-maintained, "
                                "pinned by tag in cdk.json): CodeBuild's own GPU images are years old.")
        _ack_findings(build.project, "IAM5", "Pulling the DLC image needs ecr:GetAuthorizationToken, which AWS "
                                             "defines on '*' only.", "Resource::*")
    provider = build.node.try_find_child("BuildProvider")
    if provider is not None:
        start, poll = build.node.find_child("StartBuild"), build.node.find_child("PollBuild")
        for function in (start, poll, provider):
            _ack_findings(function, "IAM4", LAMBDA_BASIC, LAMBDA_BASIC_FINDING)
        framework = [provider.node.find_child(f"framework-{name}") for name in ("isComplete", "onTimeout")]
        _ack_findings(provider, "IAM5",
                      "CDK's Provider framework invokes its own handler functions (ARN:* covers their versions).",
                      *(f"Resource::{_arn(f)}:*" for f in (start, poll, *framework)))
        _ack(provider, SF1="CDK's Provider waiter state machine; the build's own logs are in CodeBuild's log group.",
             SF2="CDK's Provider waiter state machine: a poll loop with no application traffic to trace.")

    _ack_findings(app.inference.inference.node.find_child("Role"), "IAM5",
                  "ecr:GetAuthorizationToken must be granted on '*': AWS defines no resource for it.", "Resource::*")

    bot = app.slack_bot.bot
    _ack_findings(bot.function, "IAM4", LAMBDA_BASIC, LAMBDA_BASIC_FINDING)
    _ack_findings(bot.function, "IAM5", "X-Ray's PutTraceSegments/PutTelemetryRecords require '*'.", "Resource::*")
    _ack_findings(bot.function, "IAM5", "The self-invocation for Bolt's lazy listeners is on this function's own "
                                        "name; ':*' covers its alias and versions.",
                  f"Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:{bot.function_name}:*")
    _ack(bot.secret, SMG4="Slack bot tokens and signing secrets are rotated in Slack's app settings, not by an AWS "
                          "rotation Lambda; update the secret when you rotate them there.")
    _ack(bot.dead_letters, SQS3="This queue is itself the on-failure destination of the bot's asynchronous "
                                "invocations (lazy checks that failed every retry).")
