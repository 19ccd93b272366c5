"""Publish (cloud only): upload the artifact, its report and metrics, and register the version in the
SageMaker Model Registry with those metrics.

Offline builds (no `publish.artifact_uri`) skip this step with one log line. The registry entry is
made with boto3's SageMaker API, which the build job already has. The SageMaker Python SDK was
weighed for it: the full SDK 3.x adds about 900 MB of dependencies, and its resource layer
(sagemaker-core) builds its client from a fresh botocore session rather than the one it is given.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from handlers.inference.artifact import ARCHIVE_NAME, MANIFEST_FILE
from handlers.settings import env_name
from model_build.config import PublishConfig
from model_build.metrics import Metrics

log = logging.getLogger(__name__)

UPLOADS = (ARCHIVE_NAME, MANIFEST_FILE, "report.md", "plots/roc.png", "plots/latency.png", "plots/steps.png")
SERVING_IMAGE_ENV = env_name("serving_image_uri")  # set on the CodeBuild project by infra/model_build.py

# The artifact bucket's layout, read by the stacks (infra/model_build.py, infra/inference.py).
MODELS_PREFIX = "models"
METRICS_NAME = "metrics.json"


def model_key(version: str, name: str = ARCHIVE_NAME, prefix: str = "") -> str:
    """Where one file of a published version lives: `[<prefix>/]models/<version>/<name>`."""
    return "/".join(p for p in (prefix.strip("/"), MODELS_PREFIX, version, name) if p)


def latest_key(prefix: str = "") -> str:
    """The pointer to the newest version (`{"version": ...}`), so readers need not list the bucket."""
    return "/".join(p for p in (prefix.strip("/"), MODELS_PREFIX, "latest.json") if p)


def publish(cfg: PublishConfig, out: Path, version: str, metrics: Metrics, s3=None, sagemaker=None) -> str | None:
    """Returns the S3 URI of the published model archive, or None when skipped."""
    if not cfg.artifact_uri:
        log.info("publish: skipped (offline build: no publish.artifact_uri)")
        return None
    import boto3

    s3 = s3 or boto3.client("s3")
    bucket, _, prefix = cfg.artifact_uri[len("s3://") :].partition("/")
    for name in UPLOADS:
        if (out / name).is_file():
            s3.upload_file(str(out / name), bucket, model_key(version, name, prefix))
    metrics_key = model_key(version, METRICS_NAME, prefix)
    s3.put_object(Bucket=bucket, Key=metrics_key, Body=json.dumps(metrics, indent=2).encode(),
                  ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=latest_key(prefix), Body=json.dumps({"version": version}).encode())
    model_uri = f"s3://{bucket}/{model_key(version, ARCHIVE_NAME, prefix)}"
    log.info("publish: uploaded %s", model_uri)

    image = os.environ.get(SERVING_IMAGE_ENV, "")
    if cfg.model_package_group and image:
        register(sagemaker or boto3.client("sagemaker"), cfg.model_package_group, version, model_uri,
                 f"s3://{bucket}/{metrics_key}", image, metrics, cfg.approval)
    elif cfg.model_package_group:
        log.info("publish: registry skipped (%s not set)", SERVING_IMAGE_ENV)
    return model_uri


def register(sagemaker, group: str, version: str, model_uri: str, metrics_uri: str, image: str,
             metrics: Metrics, approval: str = "PendingManualApproval") -> str:
    """Adds the version to the model package group (created on first use) with `approval` as its status;
    approving it (now or later) deploys it. Returns the model package ARN."""
    try:
        sagemaker.create_model_package_group(ModelPackageGroupName=group,
                                             ModelPackageGroupDescription="Decorum toxicity models")
    except sagemaker.exceptions.ClientError as exc:
        if "already exists" not in str(exc):
            raise
    int8 = metrics["test"]["int8"]
    response = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"decorum {version}",
        ModelApprovalStatus=approval,
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}},
        CustomerMetadataProperties={  # the figures a reviewer compares versions by, in the registry's list
            "version": version,
            "int8_p50_ms": f"{metrics['latency']['int8_p50_ms']:.3f}",
            "toxic_roc_auc": f"{int8['all'].get('toxic', {}).get('roc_auc', 0):.4f}",
            "davidson_hate_f1": f"{int8.get('davidson_3class', {}).get('hate_f1', 0):.4f}",
        },
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": model_uri}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    arn = response["ModelPackageArn"]
    log.info("publish: registered %s in model package group %s (%s)", version, group, arn)
    return arn
