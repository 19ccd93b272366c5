"""handlers/deployer against moto in server mode: the registry's state-change events, as EventBridge
delivers them, move the serverless endpoint between approved versions; failures roll back; duplicate
events are harmless; publish.register makes the versions exactly as the cloud build does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest

from handlers.deployer.deploy import EVENT_DETAIL_TYPE, EVENT_SOURCE, Deployer, DeployerConfig, DeploymentError
from handlers.settings import from_env, to_env
from model_build.publish import model_key, register

METRICS = {"test": {"int8": {"all": {"toxic": {"roc_auc": 0.9}}}}, "latency": {"int8_p50_ms": 0.7}}


class Registry:
    def __init__(self, moto_url: str):
        kwargs = {"endpoint_url": moto_url, "region_name": "us-east-1"}
        self.sagemaker, self.ssm, self.s3 = (boto3.client(s, **kwargs) for s in ("sagemaker", "ssm", "s3"))
        suffix = uuid.uuid4().hex[:8]
        self.group, self.bucket, self.endpoint = f"decorum-{suffix}", f"artifacts-{suffix}", f"decorum-{suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.config = DeployerConfig(endpoint_name=self.endpoint, model_package_group=self.group,
                                     execution_role_arn="arn:aws:iam::123456789012:role/endpoint",
                                     live_parameter=f"/decorum/{suffix}/live-model", poll_s=0.01,
                                     environment=json.dumps({"DECORUM_INTRA_OP_THREADS": "0"}))
        self.deployer = Deployer(self.config, self.sagemaker, self.ssm)

    def publish(self, version: str, archive: bool = True) -> str:
        """What the build's publish step does: the archive in S3, a version in the registry."""
        key = model_key(version, prefix="")
        if archive:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"model")
        return register(self.sagemaker, self.group, version, f"s3://{self.bucket}/{key}",
                        f"s3://{self.bucket}/{model_key(version, 'metrics.json')}", "123.dkr.ecr/decorum:abc", METRICS)

    def set_status(self, package: str, status: str) -> dict:
        self.sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus=status)
        return {"source": EVENT_SOURCE, "detail-type": EVENT_DETAIL_TYPE, "detail": {
            "ModelPackageGroupName": self.group, "ModelPackageArn": package, "ModelApprovalStatus": status}}

    def serving(self) -> str:
        endpoint = self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
        return self.sagemaker.describe_model(ModelName=endpoint["EndpointConfigName"])["PrimaryContainer"][
            "ModelDataUrl"]


@pytest.fixture
def registry(moto_url: str) -> Iterator[Registry]:
    yield Registry(moto_url)


def test_an_approval_creates_then_updates_the_endpoint_and_records_the_live_version(registry: Registry) -> None:
    first = registry.publish("20261124-1")
    assert registry.deployer.handle(registry.set_status(first, "Approved"))["changed"]
    assert registry.serving().endswith("/20261124-1/model.tar.gz")
    second = registry.publish("20261124-2")
    result = registry.deployer.handle(registry.set_status(second, "Approved"))
    assert result["changed"] and result["previous"].endswith("-v1")
    assert registry.serving().endswith("/20261124-2/model.tar.gz")
    assert registry.deployer.live()["version"] == "20261124-2"
    model = registry.sagemaker.describe_model(ModelName=result["endpoint_config"])
    assert model["PrimaryContainer"]["Environment"] == {"DECORUM_INTRA_OP_THREADS": "0"}


def test_a_duplicate_event_changes_nothing(registry: Registry) -> None:
    package = registry.publish("v1")
    event = registry.set_status(package, "Approved")
    registry.deployer.handle(event)
    assert registry.deployer.handle(event) == {"deployed": package, "changed": False}


def test_a_failed_update_rolls_back_to_the_previous_version(registry: Registry) -> None:
    good = registry.publish("good")
    registry.deployer.handle(registry.set_status(good, "Approved"))
    broken = registry.publish("broken", archive=False)  # SageMaker cannot read its archive
    with pytest.raises(DeploymentError, match="serves .* again"):
        registry.deployer.handle(registry.set_status(broken, "Approved"))
    assert registry.serving().endswith("/good/model.tar.gz")
    assert registry.sagemaker.describe_endpoint(EndpointName=registry.endpoint)["EndpointStatus"] == "InService"
    assert registry.deployer.live()["package"] == good


def test_rejecting_the_live_version_or_approving_an_older_one_rolls_back(registry: Registry) -> None:
    old, new = registry.publish("old"), None
    registry.deployer.handle(registry.set_status(old, "Approved"))
    new = registry.publish("new")
    registry.deployer.handle(registry.set_status(new, "Approved"))
    registry.deployer.handle(registry.set_status(new, "Rejected"))
    assert registry.serving().endswith("/old/model.tar.gz")
    registry.deployer.handle(registry.set_status(new, "Approved"))
    registry.deployer.handle(registry.set_status(old, "Approved"))  # approving again = deploying that one
    assert registry.serving().endswith("/old/model.tar.gz")


def test_other_groups_and_pending_versions_are_ignored(registry: Registry) -> None:
    package = registry.publish("v1")
    event = registry.set_status(package, "PendingManualApproval")
    assert "skipped" in registry.deployer.handle(event)
    other = {**event, "detail": {**event["detail"], "ModelPackageGroupName": "someone-else"}}
    assert "skipped" in registry.deployer.handle(other)


def test_the_stack_configures_the_deployer_through_its_variables(registry: Registry) -> None:
    assert from_env(DeployerConfig, to_env(registry.config)) == registry.config
