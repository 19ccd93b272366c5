"""The model deployer: an EventBridge rule on the Model Package Group's state changes, and the Lambda
(`handlers/deployer`) that moves the serverless endpoint to the approved version, rolls back a failed
update and records the live version in an SSM parameter it owns. Built the way SageMaker's MLOps
templates deploy: `cdk deploy` provisions, the registry's approval deploys."""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Stack, aws_events, aws_events_targets, aws_iam, aws_lambda, aws_logs
from constructs import Construct

from handlers.deployer.deploy import EVENT_DETAIL_TYPE, EVENT_SOURCE, DeployerConfig
from handlers.settings import to_env
from infra import nag
from infra.bundling import lambda_code
from infra.config import InferenceSettings

RUNTIME = aws_lambda.Runtime.PYTHON_3_14
ARCHITECTURE = aws_lambda.Architecture.ARM_64
DEPLOYER_BUNDLE = ("handlers/__init__.py", "handlers/settings.py", "handlers/deployer")


class ModelDeployer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: InferenceSettings, endpoint_name: str,
                 endpoint_role: aws_iam.IRole, model_package_group: str, container_environment: dict[str, str],
                 prefix: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.live_parameter = f"/{prefix}/live-model"
        config = DeployerConfig(
            endpoint_name=endpoint_name, model_package_group=model_package_group,
            execution_role_arn=endpoint_role.role_arn, live_parameter=self.live_parameter,
            memory_mb=settings.memory_mb, max_concurrency=settings.max_concurrency,
            provisioned_concurrency=settings.provisioned_concurrency,
            environment=json.dumps(container_environment, sort_keys=True))
        self.function = aws_lambda.Function(
            self, "Function",
            description="Decorum: deploys the approved model version to the serverless endpoint",
            runtime=RUNTIME, architecture=ARCHITECTURE,
            handler="handlers.deployer.lambda_handler.handler",
            code=lambda_code(RUNTIME, ARCHITECTURE, "handlers/deployer/requirements.txt", DEPLOYER_BUNDLE),
            timeout=Duration.minutes(15),  # an endpoint update takes minutes; the deployer waits for InService
            reserved_concurrent_executions=1,  # one deployment at a time
            environment=to_env(config),
            log_group=aws_logs.LogGroup(self, "Logs", retention=aws_logs.RetentionDays.THREE_MONTHS,
                                        removal_policy=RemovalPolicy.DESTROY),
        )

        def arn(resource: str, name: str) -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

        versions = f"{endpoint_name}-v*"  # the deployer names models and configs after the package version
        grants = {
            ("sagemaker:DescribeModelPackage",): [arn("model-package", f"{model_package_group}/*")],
            ("sagemaker:CreateModel", "sagemaker:DescribeModel"): [arn("model", versions)],
            ("sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"): [arn("endpoint-config", versions)],
            ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"): [
                arn("endpoint", endpoint_name), arn("endpoint-config", versions)],
            ("ssm:GetParameter", "ssm:PutParameter"): [stack.format_arn(
                service="ssm", resource="parameter", resource_name=self.live_parameter.lstrip("/"))],
        }
        for actions, resources in grants.items():
            self.function.add_to_role_policy(aws_iam.PolicyStatement(actions=list(actions), resources=resources))
        # ListModelPackages is a list action: AWS scopes it to no resource.
        self.function.add_to_role_policy(aws_iam.PolicyStatement(actions=["sagemaker:ListModelPackages"],
                                                                 resources=["*"]))
        endpoint_role.grant_pass_role(self.function)

        self.rule = aws_events.Rule(
            self, "OnApproval",
            description="A version of the model package group changed status: deploy the approved one",
            event_pattern=aws_events.EventPattern(source=[EVENT_SOURCE], detail_type=[EVENT_DETAIL_TYPE],
                                                  detail={"ModelPackageGroupName": [model_package_group]}),
            targets=[aws_events_targets.LambdaFunction(self.function, retry_attempts=2,
                                                       max_event_age=Duration.hours(1))],
        )
        nag.ack_findings(self.function, "IAM4", nag.LAMBDA_BASIC, nag.LAMBDA_BASIC_FINDING)
        nag.ack_findings(self.function, "IAM5", "Model package versions of this group, and models/configs named "
                                                f"{versions} (one per version); ListModelPackages has no resource.",
                         "Resource::*",
                         f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/"
                         f"{model_package_group}/*",
                         f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model/{versions}",
                         f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint-config/"
                         f"{versions}")
