from __future__ import annotations

import os
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.config import DecorumConfig
from infra.stacks import DecorumApp, build_app

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def synth(tmp_path: Path, decorum: dict | None = None, bundle: bool = False, validate: bool = False
          ) -> tuple[DecorumApp, dict[str, Template]]:
    context: dict = {"decorum": decorum or {}}
    if not bundle:
        context["aws:cdk:bundling-stacks"] = []  # skip the Lambda's pip bundling (one test does it for real)
    app = App(context=context, outdir=str(tmp_path), builtin_cloud_formation_validation=validate)
    decorum_app = build_app(app, DecorumConfig.from_node(app.node))
    app.synth()  # raises when cdk-nag reports an unacknowledged finding
    return decorum_app, {s.stack_name: Template.from_stack(s) for s in decorum_app.stacks}


@pytest.fixture(scope="session")
def default_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[DecorumApp, dict[str, Template], Path]:
    out = tmp_path_factory.mktemp("cdk.out")
    app, templates = synth(out)
    return app, templates, out
