#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy --all` (see the README)."""

from aws_cdk import App

from infra.config import DecorumConfig
from infra.stacks import build_app

app = App()
build_app(app, DecorumConfig.from_node(app.node))
app.synth()
