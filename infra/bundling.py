"""Lambda bundling without Docker: pip installs the Lambda's requirements for the target platform
from wheels (`--only-binary`), then copies the handler package. Users need no Docker daemon."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling, aws_lambda

REPO = Path(__file__).resolve().parent.parent
# The bot's own package and the modules it shares with the serving image (settings loader, wire format,
# the local HTTP loop).
SLACK_BUNDLE = ("handlers/__init__.py", "handlers/settings.py", "handlers/invocation.py", "handlers/httpd.py",
                "handlers/slack")
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    def __init__(self, requirements: Path, packages: tuple[str, ...], python_version: str, architecture: str):
        self.requirements, self.packages = requirements, packages
        self.python_version, self.platform = python_version, PLATFORMS[architecture]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "-r", str(self.requirements), "-t", output_dir, "--platform", self.platform,
             "--only-binary=:all:", "--implementation", "cp", "--python-version", self.python_version],
            check=True,
        )
        for package in self.packages:
            source = REPO / package
            if source.is_dir():
                shutil.copytree(source, Path(output_dir) / package, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt"))
            else:
                (Path(output_dir) / package).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, Path(output_dir) / package)
        return True


def slack_lambda_code(runtime: aws_lambda.Runtime, architecture: aws_lambda.Architecture) -> aws_lambda.Code:
    """The Slack bot's deployment package: handlers/slack plus its lean requirements (no boto3,
    which the runtime has; no torch, no transformers)."""
    python_version = runtime.name.removeprefix("python")
    return aws_lambda.Code.from_asset(
        str(REPO / "handlers"),
        exclude=["inference", "**/__pycache__"],
        bundling=BundlingOptions(
            image=runtime.bundling_image,  # required by the API; never pulled: local bundling succeeds
            local=PipLocalBundling(REPO / "handlers" / "slack" / "requirements.txt", SLACK_BUNDLE, python_version,
                                   architecture.name),
            command=["false"],
        ),
    )
