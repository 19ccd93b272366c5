"""Publish (cloud only): upload the artifact and report, register the version in the Model Registry.

Offline builds (no `publish.artifact_uri`) skip this step with one log line. The registry entry is
made with boto3's SageMaker API, which the build job already has; the SageMaker Python SDK (about
900 MB of dependencies) stays out of every image.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from model_build.config import PublishConfig

log = logging.getLogger(__name__)

UPLOADS = ("model.tar.gz", "decorum.json", "report.md", "plots/roc.png", "plots/latency.png", "plots/steps.png")


def publish(cfg: PublishConfig, out: Path, version: str, metrics: dict, s3=None, sagemaker=None) -> str | None:
    """Returns the S3 URI of the published model archive, or None when skipped."""
    if not cfg.artifact_uri:
        log.info("publish: skipped (offline build: no publish.artifact_uri)")
        return None
    if not cfg.artifact_uri.startswith("s3://"):
        raise ValueError(f"publish.artifact_uri must be an s3:// URI, got {cfg.artifact_uri!r}")
    import boto3

    s3 = s3 or boto3.client("s3")
    bucket, _, prefix = cfg.artifact_uri[len("s3://") :].partition("/")
    base = "/".join(p for p in (prefix.strip("/"), "models", version) if p)
    for name in UPLOADS:
        if (out / name).is_file():
            s3.upload_file(str(out / name), bucket, f"{base}/{name}")
    # A pointer the deploy step reads to find the newest model without listing the bucket.
    latest_key = "/".join(p for p in (prefix.strip("/"), "models", "latest.json") if p)
    s3.put_object(Bucket=bucket, Key=latest_key, Body=json.dumps({"version": version}).encode())
    model_uri = f"s3://{bucket}/{base}/model.tar.gz"
    log.info("publish: uploaded %s", model_uri)

    image = os.environ.get("DECORUM_SERVING_IMAGE_URI", "")
    if cfg.model_package_group and image:
        sagemaker = sagemaker or boto3.client("sagemaker")
        try:
            sagemaker.create_model_package_group(ModelPackageGroupName=cfg.model_package_group)
        except sagemaker.exceptions.ClientError as exc:
            if "already exists" not in str(exc):
                raise
        sagemaker.create_model_package(
            ModelPackageGroupName=cfg.model_package_group,
            ModelPackageDescription=f"decorum {version}",
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties={
                "version": version,
                "int8_p50_ms": f"{metrics['latency']['int8_p50_ms']:.3f}",
                "toxic_roc_auc": f"{metrics['test']['int8']['all'].get('toxic', {}).get('roc_auc', 0):.4f}",
            },
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": model_uri}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
        log.info("publish: registered %s in model package group %s", version, cfg.model_package_group)
    elif cfg.model_package_group:
        log.info("publish: registry skipped (DECORUM_SERVING_IMAGE_URI not set)")
    return model_uri
