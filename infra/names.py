"""Names of resources that one stack makes and another refers to, built the same way on both sides so
that no per-stack export is imported."""

from __future__ import annotations

from aws_cdk import Aws


def artifact_bucket_name(prefix: str) -> str:
    """The model artifact bucket: `<prefix>-artifacts-<account>-<region>` (made by infra/model_build.py;
    infra/inference.py grants the endpoint role its published archives)."""
    return f"{prefix}-artifacts-{Aws.ACCOUNT_ID}-{Aws.REGION}"
