"""The publish step against moto in server mode: S3 uploads and the Model Registry entry."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest

from model_build.config import PublishConfig
from model_build.publish import SERVING_IMAGE_ENV, publish

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-container-assets:abc"
METRICS = {
    "latency": {"int8_p50_ms": 1.19},
    "test": {"int8": {"all": {"toxic": {"roc_auc": 0.9406}}, "davidson_3class": {"hate_f1": 0.5035}}},
}


@pytest.fixture
def built_model(tmp_path: Path) -> Path:
    (tmp_path / "plots").mkdir()
    for name in ("model.tar.gz", "decorum.json", "report.md", "plots/roc.png"):
        (tmp_path / name).write_bytes(name.encode())
    return tmp_path


@pytest.fixture
def aws(moto_url: str) -> tuple:
    s3 = boto3.client("s3", endpoint_url=moto_url)
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_url)
    return s3, sagemaker


def test_offline_build_skips_publish_with_a_log_line(built_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="model_build.publish"):
        assert publish(PublishConfig(), built_model, "v0", METRICS) is None
    assert "publish: skipped (offline build" in caplog.text


def test_publish_uploads_and_registers_each_version_with_its_metrics(
        built_model: Path, aws: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    s3, sagemaker = aws
    s3.create_bucket(Bucket="decorum-artifacts")
    monkeypatch.setenv(SERVING_IMAGE_ENV, IMAGE)
    cfg = PublishConfig(artifact_uri="s3://decorum-artifacts/team", model_package_group="decorum-publish-test")

    for version in ("20261123-1", "20261123-2"):  # the second finds the group already there
        uri = publish(cfg, built_model, version, METRICS, s3=s3, sagemaker=sagemaker)
        assert uri == f"s3://decorum-artifacts/team/models/{version}/model.tar.gz"

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="decorum-artifacts")["Contents"]}
    assert {"team/models/20261123-2/model.tar.gz", "team/models/20261123-2/decorum.json",
            "team/models/20261123-2/plots/roc.png", "team/models/20261123-2/metrics.json"} <= keys
    latest = s3.get_object(Bucket="decorum-artifacts", Key="team/models/latest.json")["Body"].read()
    assert json.loads(latest) == {"version": "20261123-2"}
    stored = s3.get_object(Bucket="decorum-artifacts", Key="team/models/20261123-2/metrics.json")["Body"].read()
    assert json.loads(stored) == METRICS

    packages = sagemaker.list_model_packages(ModelPackageGroupName="decorum-publish-test")["ModelPackageSummaryList"]
    assert len(packages) == 2
    newest = sagemaker.describe_model_package(ModelPackageName=max(p["ModelPackageArn"] for p in packages))
    assert newest["ModelApprovalStatus"] == "PendingManualApproval"
    assert newest["CustomerMetadataProperties"]["version"] == "20261123-2"
    assert newest["CustomerMetadataProperties"]["davidson_hate_f1"] == "0.5035"
    assert newest["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == \
        "s3://decorum-artifacts/team/models/20261123-2/metrics.json"
    (container,) = newest["InferenceSpecification"]["Containers"]
    assert (container["Image"], container["ModelDataUrl"]) == (IMAGE, uri)


def test_a_build_can_register_its_version_approved(built_model: Path, aws: tuple,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`approve_when_gates_pass`: publish runs after the gate, so an approved entry deploys at once."""
    s3, sagemaker = aws
    s3.create_bucket(Bucket="decorum-approved")
    monkeypatch.setenv(SERVING_IMAGE_ENV, IMAGE)
    cfg = PublishConfig(artifact_uri="s3://decorum-approved", model_package_group="decorum-approved-test",
                        approval="Approved")
    publish(cfg, built_model, "20261124-1", METRICS, s3=s3, sagemaker=sagemaker)
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="decorum-approved-test")[
        "ModelPackageSummaryList"]
    assert sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])[
        "ModelApprovalStatus"] == "Approved"


def test_without_a_serving_image_the_upload_still_happens_and_the_registry_is_skipped(
        built_model: Path, aws: tuple, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    s3, sagemaker = aws
    s3.create_bucket(Bucket="decorum-no-image")
    monkeypatch.delenv(SERVING_IMAGE_ENV, raising=False)
    cfg = PublishConfig(artifact_uri="s3://decorum-no-image", model_package_group="decorum-no-image")
    with caplog.at_level(logging.INFO, logger="model_build.publish"):
        assert publish(cfg, built_model, "v1", METRICS, s3=s3, sagemaker=sagemaker)
    assert "registry skipped" in caplog.text
    assert s3.list_objects_v2(Bucket="decorum-no-image", Prefix="models/v1/")["KeyCount"] == 5
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert "decorum-no-image" not in {g["ModelPackageGroupName"] for g in groups}
