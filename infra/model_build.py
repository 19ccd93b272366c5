"""Model build: the artifact bucket and the CodeBuild project running `python -m model_build build`. It runs
on demand (`make model-cloud`, or `aws codebuild start-build`), never during `cdk deploy`; it publishes
the archive and registers a version in the Model Package Group, where approval deploys it
(infra/deployment.py)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    aws_codebuild,
    aws_iam,
    aws_kms,
    aws_logs,
    aws_s3,
    aws_s3_assets,
)
from constructs import Construct

from infra import nag
from infra.config import ModelBuildSettings
from infra.inference import serving_image
from infra.names import artifact_bucket_name
from model_build.publish import MODELS_PREFIX, SERVING_IMAGE_ENV

REPO = Path(__file__).resolve().parent.parent
BUILD_PYTHON = "3.11"  # CodeBuild's runtime; within pyproject.toml's requires-python
SOURCE_EXCLUDES = [".venv", "node_modules", "build", "cdk.out", ".cache", ".git", "**/__pycache__", "tests", "bench"]

class ModelBuild(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: ModelBuildSettings, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.key = aws_kms.Key(self, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN,
                               description=f"{prefix}: model artifacts and build logs")
        self.bucket = aws_s3.Bucket(
            self, "Artifacts",
            bucket_name=artifact_bucket_name(prefix),
            versioned=True,
            encryption=aws_s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[aws_s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90))],
        )
        # The source carries the training data too (data/, read by the profiles): one asset, one hash.
        source = aws_s3_assets.Asset(self, "Source", path=str(REPO), exclude=SOURCE_EXCLUDES)
        gpu = settings.gpu
        self.project = aws_codebuild.Project(
            self, "Project",
            description="Decorum model build: distil, export to ONNX, quantize, gate, publish",
            source=aws_codebuild.Source.s3(bucket=source.bucket, path=source.s3_object_key),
            environment=aws_codebuild.BuildEnvironment(
                build_image=(aws_codebuild.LinuxGpuBuildImage.aws_deep_learning_containers_image(
                                 "pytorch-training", settings.gpu_image_tag) if gpu
                             else aws_codebuild.LinuxBuildImage.STANDARD_7_0),
                compute_type=aws_codebuild.ComputeType[settings.compute_type],
            ),
            encryption_key=self.key,
            timeout=Duration.minutes(settings.timeout_minutes),
            logging=aws_codebuild.LoggingOptions(cloud_watch=aws_codebuild.CloudWatchLoggingOptions(
                log_group=aws_logs.LogGroup(self, "Logs", retention=aws_logs.RetentionDays.THREE_MONTHS,
                                            removal_policy=RemovalPolicy.DESTROY))),
            environment_variables={
                "PROFILE": aws_codebuild.BuildEnvironmentVariable(value=settings.profile),
                "ARTIFACT_URI": aws_codebuild.BuildEnvironmentVariable(value=f"s3://{self.bucket.bucket_name}"),
                "MODEL_PACKAGE_GROUP": aws_codebuild.BuildEnvironmentVariable(value=settings.model_package_group),
                # Approved: a build that passes its gates goes live (the deployer acts on approval).
                "APPROVAL": aws_codebuild.BuildEnvironmentVariable(
                    value="Approved" if settings.approve_when_gates_pass else "PendingManualApproval"),
                # The image each Model Registry entry names beside its model archive.
                SERVING_IMAGE_ENV: aws_codebuild.BuildEnvironmentVariable(
                    value=serving_image(self, "ServingImage").image_uri),
            },
            build_spec=aws_codebuild.BuildSpec.from_object({
                "version": "0.2",
                "phases": {
                    "install": {
                        # The GPU (deep learning container) images bring their own Python.
                        **({} if gpu else {"runtime-versions": {"python": BUILD_PYTHON}}),
                        # requirements.txt pins torch; a GPU (DLC) image keeps its own CUDA torch.
                        "commands": ([
                            "grep -v '^torch==' requirements.txt > /tmp/requirements-dlc.txt",
                            "python -m pip install --quiet -r /tmp/requirements-dlc.txt",
                        ] if gpu else ["python -m pip install --quiet -r requirements.txt"])},
                    "build": {"commands": [
                        "python -m model_build build --config model_build/configs/$PROFILE.toml --out build/model"
                        " --set publish.artifact_uri=$ARTIFACT_URI"
                        " --set publish.model_package_group=$MODEL_PACKAGE_GROUP"
                        " --set publish.approval=$APPROVAL",
                    ]},
                },
            }),
        )
        source.grant_read(self.project)
        self.bucket.grant_read_write(self.project, f"{MODELS_PREFIX}/*")
        stack = Stack.of(self)
        self.project.add_to_role_policy(aws_iam.PolicyStatement(
            actions=["sagemaker:CreateModelPackageGroup", "sagemaker:CreateModelPackage"],
            resources=[stack.format_arn(service="sagemaker", resource="model-package-group",
                                        resource_name=settings.model_package_group),
                       stack.format_arn(service="sagemaker", resource="model-package",
                                        resource_name=f"{settings.model_package_group}/*")],
        ))

        CfnOutput(self, "BuildProject", value=self.project.project_name,
                  description="Build and register a model: aws codebuild start-build --project-name <this>")
        self._acknowledge_findings(settings)

    def _acknowledge_findings(self, settings: ModelBuildSettings) -> None:
        nag.ack(self.bucket, S1="Holds build outputs only; reads are by the endpoint role and the build; enable "
                                "CloudTrail S3 data events for an access audit instead of a second logging bucket.")
        project = nag.logical(self.project)
        nag.ack_findings(
            self.project, "IAM5",
            "CDK's grants to the build: its own log group and report groups; read access to the whole CDK assets "
            "bucket (CDK's asset grant is bucket-wide: the build can read every asset of this account and region, "
            "not only its source); data-key actions on the project's KMS key; the models/ prefix of the artifact "
            "bucket; and the packages of this model package group.",
            *nag.CDK_GRANT_ACTIONS, "Action::s3:DeleteObject*", "Action::s3:Abort*", "Action::kms:GenerateDataKey*",
            "Action::kms:ReEncrypt*", f"Resource::{nag.arn(self.bucket)}/{MODELS_PREFIX}/*",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
            f"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/{project}:*",
            f"Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/{project}-*",
            f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/"
            f"{settings.model_package_group}/*",
        )
        if settings.gpu:
            nag.ack(self.project, CB5="GPU builds use an AWS Deep Learning Containers PyTorch image (AWS-maintained, "
                                      "pinned by tag in cdk.json): CodeBuild's own GPU images are years old.")
            nag.ack_findings(self.project, "IAM5", "Pulling the DLC image needs ecr:GetAuthorizationToken, which AWS "
                                                   "defines on '*' only.", "Resource::*")
