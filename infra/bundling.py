"""Lambda bundling without Docker: pip installs the Lambda's requirements for the target platform
from wheels (`--only-binary`), then copies the handler package. Users need no Docker daemon.

`--no-deps`: a requirements file lists every package its bundle holds, dependencies included, so a
package whose dependency the runtime already has (aws-xray-sdk -> botocore) does not bundle a second,
shadowing copy. tests/infrastructure/test_stacks.py checks each list is whole."""

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
# What the Lambda Python runtime provides: boto3 and its dependencies.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    def __init__(self, requirements: Path, packages: tuple[str, ...], python_version: str, architecture: str):
        self.requirements, self.packages = requirements, packages
        self.python_version, self.platform = python_version, PLATFORMS[architecture]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        if any(line.strip() and not line.lstrip().startswith("#")
               for line in self.requirements.read_text().splitlines()):
            self._install(output_dir)
        self._copy(output_dir)
        return True

    def _install(self, output_dir: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "--no-deps", "-r", str(self.requirements), "-t", output_dir, "--platform", self.platform,
             "--only-binary=:all:", "--implementation", "cp", "--python-version", self.python_version],
            check=True,
        )

    def _copy(self, output_dir: str) -> None:
        for package in self.packages:
            source = REPO / package
            if source.is_dir():
                shutil.copytree(source, Path(output_dir) / package, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt"))
            else:
                (Path(output_dir) / package).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, Path(output_dir) / package)


def lambda_code(runtime: aws_lambda.Runtime, architecture: aws_lambda.Architecture, requirements: str,
                packages: tuple[str, ...]) -> aws_lambda.Code:
    """A Lambda deployment package: `packages` (paths under the repository) plus `requirements`, installed
    for the target platform from wheels."""
    python_version = runtime.name.removeprefix("python")
    # Only what the package copies is the asset's source, so each function's asset hash (and CDK's
    # bundling cache) is its own: two functions from one folder would otherwise share one bundle.
    kept = {Path(p).relative_to("handlers").parts[0] for p in packages if p != "handlers"}
    others = sorted(entry.name for entry in (REPO / "handlers").iterdir() if entry.name not in kept)
    return aws_lambda.Code.from_asset(
        str(REPO / "handlers"),
        exclude=[*others, "**/__pycache__"],
        bundling=BundlingOptions(
            image=runtime.bundling_image,  # required by the API; never pulled: local bundling succeeds
            local=PipLocalBundling(REPO / requirements, packages, python_version, architecture.name),
            command=["false"],
        ),
    )


def slack_lambda_code(runtime: aws_lambda.Runtime, architecture: aws_lambda.Architecture) -> aws_lambda.Code:
    """The Slack bot's deployment package: handlers/slack plus its lean requirements (no boto3,
    which the runtime has; no torch, no transformers)."""
    return lambda_code(runtime, architecture, "handlers/slack/requirements.txt", SLACK_BUNDLE)
