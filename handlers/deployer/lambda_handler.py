"""AWS Lambda entry point of the model deployer: `handlers.deployer.lambda_handler.handler`, the target of
the EventBridge rule on the model package group's state changes (infra/deployment.py)."""

import logging
import os

import boto3

from handlers.deployer.deploy import Deployer, DeployerConfig
from handlers.settings import from_env

logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))  # its deployments are INFO lines
_config = from_env(DeployerConfig)
_deployer = Deployer(_config, boto3.client("sagemaker", endpoint_url=_config.sagemaker_endpoint_url),
                     boto3.client("ssm", endpoint_url=_config.ssm_endpoint_url))


def handler(event: dict, _context: object) -> dict:
    return _deployer.handle(event)
