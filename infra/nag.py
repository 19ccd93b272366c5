"""Helpers for acknowledging cdk-nag AwsSolutions findings. Each construct acknowledges the findings
on its own resources, with its reason, where it creates them; anything new fails `cdk synth` until
it is fixed or reasoned there."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

LAMBDA_BASIC = "CloudWatch Logs writing only (AWSLambdaBasicExecutionRole); nothing else is granted by it."


def ack(construct: IConstruct, **reasons: str) -> None:
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason) for rule, reason in reasons.items()))


def ack_findings(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledges individual findings of a rule (e.g. one wildcard of IAM5), not the whole rule."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}[{finding}]", reason=reason) for finding in findings))


def arn(construct: IConstruct) -> str:
    """How cdk-nag writes a construct's ARN token in a finding: <LogicalId.Arn>."""
    resource = construct.node.default_child or construct
    return f"<{Stack.of(construct).get_logical_id(resource)}.Arn>"


def logical(construct: IConstruct) -> str:
    """How cdk-nag writes a construct's Ref token in a finding: <LogicalId>."""
    resource = construct.node.default_child or construct
    return f"<{Stack.of(construct).get_logical_id(resource)}>"


LAMBDA_BASIC_FINDING = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
CDK_GRANT_ACTIONS = ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*")
