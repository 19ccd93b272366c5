"""Inference: the serving image (built from handlers/inference/Dockerfile), the endpoint's role and log
group, and the serverless endpoint (from the registry through the deployer, or from a given archive)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    Aws,
    RemovalPolicy,
    Stack,
    aws_ecr_assets,
    aws_iam,
    aws_kms,
    aws_logs,
    aws_s3,
    aws_s3_assets,
    aws_sagemaker,
)
from constructs import Construct

from handlers.inference.settings import ModelSettings
from handlers.settings import to_env
from infra import nag
from infra.config import InferenceSettings, InfraConfigError
from infra.deployment import ModelDeployer
from infra.names import artifact_bucket_name
from model_build.publish import MODELS_PREFIX, model_key

REPO = Path(__file__).resolve().parent.parent
VARIANT = "AllTraffic"


def serving_image(scope: Construct, construct_id: str) -> aws_ecr_assets.DockerImageAsset:
    """The serving image. Its tag is the source's hash, so the endpoint and the model-build job (which
    names the image in each Model Registry entry) refer to one image, pushed once."""
    return aws_ecr_assets.DockerImageAsset(
        scope, construct_id, directory=str(REPO / "handlers"), file="inference/Dockerfile",
        exclude=["slack", "deployer", "**/__pycache__"], platform=aws_ecr_assets.Platform.LINUX_AMD64,
    )


class Inference(Construct):
    """The endpoint's role, image and log group, and the endpoint itself: made by CloudFormation from a
    given archive (`asset`, `version`), or by the deployer from the registry's approved version
    (`registry`, the default: nothing here changes per build, so no deploy waits for one)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: InferenceSettings, prefix: str,
                 artifact_bucket: aws_s3.IBucket, artifact_key: aws_kms.IKey, model_package_group: str) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = f"{prefix}-toxicity"
        self.variant_name = VARIANT
        self.endpoint_arn = Stack.of(self).format_arn(service="sagemaker", resource="endpoint",
                                                      resource_name=self.endpoint_name)
        self.image = serving_image(self, "Image")
        self.role = role = aws_iam.Role(
            self, "Role", assumed_by=aws_iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker endpoint: pull the serving image, read the model archive, write its logs")
        self.image.repository.grant_pull(role)
        role.add_to_policy(aws_iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        # The container's logs and metrics: SageMaker writes them with the execution role, to a log group
        # named after the endpoint. Made here so it has a retention (SageMaker's own would keep logs forever).
        self.log_group = aws_logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            retention=aws_logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[self.log_group.log_group_arn]))
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],  # AWS defines no resource for it
            conditions={"StringEquals": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints", "AWS/SageMaker"]}}))
        nag.ack_findings(role, "IAM5", "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (held to SageMaker's "
                                       "namespaces by a condition) are granted on '*': AWS defines no resource for "
                                       "them.", "Resource::*")
        self.container_environment = {**to_env(ModelSettings(intra_op_threads=settings.intra_op_threads)),
                                      "LOG_LEVEL": "INFO"}
        self.deployer: ModelDeployer | None = None
        if settings.model_source == "registry":
            # Whichever version is approved: every published archive (models/<version>/model.tar.gz).
            archives = f"arn:{Aws.PARTITION}:s3:::{artifact_bucket_name(prefix)}/{MODELS_PREFIX}/*"
            role.add_to_policy(aws_iam.PolicyStatement(actions=["s3:GetObject"], resources=[archives]))
            nag.ack_findings(role, "IAM5", "The endpoint serves whichever published version is approved: it reads the "
                                           "archives under models/ of the artifact bucket, nothing else.",
                             f"Resource::arn:<AWS::Partition>:s3:::{prefix}-artifacts-<AWS::AccountId>-<AWS::Region>/"
                             f"{MODELS_PREFIX}/*")
            artifact_key.grant_decrypt(role)
            self.deployer = ModelDeployer(self, "Deployer", settings=settings, endpoint_name=self.endpoint_name,
                                          endpoint_role=role, model_package_group=model_package_group,
                                          container_environment=self.container_environment, prefix=prefix)
            return
        self._endpoint_from_archive(settings, artifact_bucket, artifact_key)

    def _endpoint_from_archive(self, settings: InferenceSettings, artifact_bucket: aws_s3.IBucket,
                               artifact_key: aws_kms.IKey) -> None:
        if settings.model_source == "asset":
            artifact = REPO / settings.model_artifact
            if not artifact.is_file():
                raise InfraConfigError(f"{artifact} not found: run `make model` first, or deploy with "
                                       "-c decorum.inference.model_source=registry")
            asset = aws_s3_assets.Asset(self, "ModelArtifact", path=str(artifact))
            bucket, key = asset.bucket, asset.s3_object_key
        else:
            bucket, key = artifact_bucket, model_key(settings.model_version)
            artifact_key.grant_decrypt(self.role)
        # The one archive, not the bucket: the endpoint reads exactly the model it serves.
        self.role.add_to_policy(aws_iam.PolicyStatement(actions=["s3:GetObject"],
                                                        resources=[bucket.arn_for_objects(key)]))
        self.model = aws_sagemaker.CfnModel(
            self, "Model",
            execution_role_arn=self.role.role_arn,
            # No network isolation: Serverless Inference does not support it (AWS's list of the features it
            # excludes: GPUs, VPC configuration, network isolation, data capture, ...); CreateEndpoint
            # would fail. The container makes no calls out anyway: the model comes from S3.
            primary_container=aws_sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image.image_uri, model_data_url=f"s3://{bucket.bucket_name}/{key}",
                environment=self.container_environment),
        )
        self.model.node.add_dependency(self.role)
        serverless = aws_sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
            memory_size_in_mb=settings.memory_mb,
            max_concurrency=settings.max_concurrency,
            provisioned_concurrency=settings.provisioned_concurrency or None,
        )
        config = aws_sagemaker.CfnEndpointConfig(
            self, "EndpointConfig",
            production_variants=[aws_sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                model_name=self.model.attr_model_name, variant_name=VARIANT, serverless_config=serverless)],
        )
        self.endpoint = aws_sagemaker.CfnEndpoint(self, "Endpoint", endpoint_name=self.endpoint_name,
                                                  endpoint_config_name=config.attr_endpoint_config_name)
