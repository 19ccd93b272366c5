"""Serves the approved model: on "SageMaker Model Package State Change" (EventBridge), creates a Model and
an EndpointConfig for the approved version, points the serverless endpoint at it (creating the
endpoint the first time), waits for InService, and records the live version in an SSM parameter.

- An update that fails is rolled back to the previous configuration; the deployer names the failure
  and raises, so the failed invocation is counted (and alarmed) and EventBridge's retry can try again.
- Approving an older version deploys it: that is a rollback. Rejecting the live version deploys the
  newest version still approved.
- A duplicate event, or one for a version already live, changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.settings import SettingsError, env_name

log = logging.getLogger("decorum.deployer")
EVENT_SOURCE, EVENT_DETAIL_TYPE = "aws.sagemaker", "SageMaker Model Package State Change"


class DeploymentError(RuntimeError):
    """The endpoint could not be moved to the approved version; it still serves the previous one."""


@dataclass(frozen=True)
class DeployerConfig:
    """Read from `DECORUM_<FIELD>` (`handlers/settings.py`); infra/deployment.py writes them."""

    endpoint_name: str
    model_package_group: str
    execution_role_arn: str  # the endpoint's role: pulls the image, reads the archive, writes logs
    live_parameter: str  # SSM parameter holding the live version (the deployer owns it)
    memory_mb: int = 2048
    max_concurrency: int = 20
    provisioned_concurrency: int = 0
    variant_name: str = "AllTraffic"
    environment: str = "{}"  # JSON: the container's DECORUM_* settings
    wait_s: float = 780.0  # for InService; the Lambda's timeout is 15 minutes
    poll_s: float = 15.0
    sagemaker_endpoint_url: str | None = None  # local runs (moto)
    ssm_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrency <= 200 or self.memory_mb not in range(1024, 6145, 1024):
            raise SettingsError(f"{env_name('max_concurrency')} must be in [1, 200], {env_name('memory_mb')} "
                                "one of 1024 ... 6144")


class Deployer:
    def __init__(self, config: DeployerConfig, sagemaker, ssm, sleep: Callable[[float], None] = time.sleep):
        self.config, self.sagemaker, self.ssm, self.sleep = config, sagemaker, ssm, sleep

    # ------------------------------------------------------------------------------- events

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        detail = event.get("detail") or {}
        if event.get("detail-type") != EVENT_DETAIL_TYPE or \
                detail.get("ModelPackageGroupName") != self.config.model_package_group:
            return {"skipped": "not this model package group's state change"}
        package, status = detail.get("ModelPackageArn", ""), detail.get("ModelApprovalStatus")
        if status == "Approved":
            return self.deploy(package)
        live = self.live() if status == "Rejected" else None
        if live and live["package"] == package:
            newest = self.newest_approved(excluding=package)
            if newest is None:
                log.warning(json.dumps({"event": "live_version_rejected", "package": package,
                                        "action": "none: no other approved version"}))
                return {"skipped": "the live version was rejected and no other version is approved"}
            return self.deploy(newest)
        return {"skipped": f"status {status} of a version that is not live"}

    def newest_approved(self, excluding: str = "") -> str | None:
        pages = self.sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=self.config.model_package_group, ModelApprovalStatus="Approved",
            SortBy="CreationTime", SortOrder="Descending")
        for page in pages:
            for summary in page["ModelPackageSummaryList"]:
                if summary["ModelPackageArn"] != excluding:
                    return summary["ModelPackageArn"]
        return None

    # ------------------------------------------------------------------------------- deploying

    def live(self) -> dict[str, str] | None:
        try:
            return json.loads(self.ssm.get_parameter(Name=self.config.live_parameter)["Parameter"]["Value"])
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def deploy(self, package: str) -> dict[str, Any]:
        live = self.live()
        if live and live["package"] == package:
            return {"deployed": package, "changed": False}
        described = self.sagemaker.describe_model_package(ModelPackageName=package)
        if described["ModelApprovalStatus"] != "Approved":
            return {"skipped": f"{package} is {described['ModelApprovalStatus']} now"}
        name = f"{self.config.endpoint_name}-v{package.rsplit('/', 1)[-1]}"  # the group's version number
        (container,) = described["InferenceSpecification"]["Containers"][:1]
        self._create_model(name, container)
        self._create_endpoint_config(name)
        previous = self._endpoint_config()
        if previous is None:
            self.sagemaker.create_endpoint(EndpointName=self.config.endpoint_name, EndpointConfigName=name)
        else:
            self.sagemaker.update_endpoint(EndpointName=self.config.endpoint_name, EndpointConfigName=name)
        status, reason = self._wait()
        if status != "InService" or self._endpoint_config() != name:
            if previous is not None and status != "InService":  # back to the last good configuration
                self.sagemaker.update_endpoint(EndpointName=self.config.endpoint_name, EndpointConfigName=previous)
                self._wait()
            log.error(json.dumps({"event": "deployment_failed", "package": package, "status": status,
                                  "reason": reason, "serving": self._endpoint_config()}))
            raise DeploymentError(f"{self.config.endpoint_name} did not take {name} ({status}: {reason}); "
                                  f"it serves {previous} again")
        # The registry entry's metadata names the version; else its archive's folder does (publish.model_key).
        version = (described.get("CustomerMetadataProperties") or {}).get(
            "version", container["ModelDataUrl"].rsplit("/", 2)[-2])
        self.ssm.put_parameter(Name=self.config.live_parameter, Type="String", Overwrite=True,
                               Value=json.dumps({"package": package, "endpoint_config": name, "version": version}))
        log.info(json.dumps({"event": "deployed", "package": package, "endpoint_config": name, "version": version,
                             "previous": previous}))
        return {"deployed": package, "changed": True, "endpoint_config": name, "previous": previous}

    def _create_model(self, name: str, container: dict[str, Any]) -> None:
        try:
            self.sagemaker.describe_model(ModelName=name)
            return  # a retried event: made already
        except self.sagemaker.exceptions.ClientError:
            pass
        self.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=self.config.execution_role_arn,
            PrimaryContainer={"Image": container["Image"], "ModelDataUrl": container["ModelDataUrl"],
                              "Environment": json.loads(self.config.environment)})

    def _create_endpoint_config(self, name: str) -> None:
        try:
            self.sagemaker.describe_endpoint_config(EndpointConfigName=name)
            return
        except self.sagemaker.exceptions.ClientError:
            pass
        serverless = {"MemorySizeInMB": self.config.memory_mb, "MaxConcurrency": self.config.max_concurrency}
        if self.config.provisioned_concurrency:
            serverless["ProvisionedConcurrency"] = self.config.provisioned_concurrency
        self.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": self.config.variant_name, "ModelName": name, "ServerlessConfig": serverless}])

    def _endpoint_config(self) -> str | None:
        try:
            return self.sagemaker.describe_endpoint(EndpointName=self.config.endpoint_name)["EndpointConfigName"]
        except self.sagemaker.exceptions.ClientError:
            return None

    def _wait(self) -> tuple[str, str]:
        deadline = time.monotonic() + self.config.wait_s
        while True:
            described = self.sagemaker.describe_endpoint(EndpointName=self.config.endpoint_name)
            status = described["EndpointStatus"]
            if status not in ("Creating", "Updating", "SystemUpdating") or time.monotonic() > deadline:
                return status, described.get("FailureReason", "")
            self.sleep(self.config.poll_s)
