"""Assertions on the synthesized CloudFormation of each construct."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from aws_cdk.assertions import Match, Template
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from handlers.settings import env_name
from handlers.slack.feedback import EXPIRES_AT
from handlers.slack.listeners import CHECK_SHORTCUT_CALLBACK_ID
from handlers.slack.oauth import BOT_SCOPES, REDIRECT_PATH
from infra.bundling import RUNTIME_PROVIDED
from infra.config import DecorumConfig, InfraConfigError
from infra.model_build import BUILD_PYTHON
from model_build.publish import SERVING_IMAGE_ENV
from tests.conftest import REPO
from tests.infrastructure.conftest import synth


def statements(template: Template) -> list[dict]:
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in template.find_resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------- model build


def test_artifact_bucket_is_versioned_encrypted_private_and_ssl_only(default_app) -> None:
    template = default_app[1]["DecorumModelBuild"]
    template.has_resource_properties("AWS::S3::Bucket", {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [Match.object_like(
            {"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
    })
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_codebuild_runs_the_full_profile_and_publishes(default_app) -> None:
    template = default_app[1]["DecorumModelBuild"]
    (project,) = template.find_resources("AWS::CodeBuild::Project").values()
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    build = " ".join(spec["phases"]["build"]["commands"])
    assert "python -m model_build build --config model_build/configs/$PROFILE.toml" in build
    assert "publish.artifact_uri=$ARTIFACT_URI" in build
    env = {v["Name"]: v.get("Value") for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert env["PROFILE"] == "full"
    assert env["APPROVAL"] == "PendingManualApproval" and "publish.approval=$APPROVAL" in build
    # The registry entry names the image the endpoint runs: the same asset, by its source hash.
    registry_image = json.dumps(env[SERVING_IMAGE_ENV])
    image_tag = registry_image.rsplit(":", 1)[-1].strip('"]}')
    assert len(image_tag) == 64  # a content hash: the image asset the endpoint's role may pull
    inference = statements(default_app[1]["DecorumInference"])
    pulls = [st for st in inference if "ecr:BatchGetImage" in as_list(st["Action"])]
    assert pulls and "container-assets" in json.dumps(pulls[0]["Resource"])
    assert project["Properties"]["Environment"]["ComputeType"] == "BUILD_GENERAL1_LARGE"
    assert spec["phases"]["install"]["commands"] == ["python -m pip install --quiet -r requirements.txt"]
    # `cdk deploy` never waits for a build: no custom resource starts one.
    for template in default_app[1].values():
        template.resource_count_is("AWS::CloudFormation::CustomResource", 0)


def test_approval_deploys_the_registry_version_through_the_deployer(default_app) -> None:
    """The SageMaker MLOps way: an EventBridge rule on the group's state changes runs the deployer; the
    endpoint is not CloudFormation's, and nothing per build crosses stacks."""
    template = default_app[1]["DecorumInference"]
    template.resource_count_is("AWS::SageMaker::Endpoint", 0)
    template.has_resource_properties("AWS::Events::Rule", {"EventPattern": {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["decorum-toxicity"]}}})
    (deployer,) = template.find_resources("AWS::Lambda::Function", {"Properties": {
        "Handler": "handlers.deployer.lambda_handler.handler"}}).values()
    variables = deployer["Properties"]["Environment"]["Variables"]
    assert variables["DECORUM_ENDPOINT_NAME"] == "decorum-toxicity" and variables["DECORUM_MAX_CONCURRENCY"] == "20"
    found = {a: s for s in statements(template) for a in as_list(s["Action"])}
    assert ":endpoint/decorum-toxicity" in json.dumps(found["sagemaker:UpdateEndpoint"]["Resource"])
    assert "model-package/decorum-toxicity/*" in json.dumps(found["sagemaker:DescribeModelPackage"]["Resource"])
    assert "iam:PassRole" in found and "ssm:PutParameter" in found
    # Across stacks only what never changes per build: the artifact key's ARN (names are built, not imported).
    imports = set(re.findall(r'"Fn::ImportValue": "([^"]+)"', json.dumps(template.to_json())))
    assert imports == {i for i in imports if "ModelBuildKey" in i} and len(imports) == 1


def test_an_explicit_version_is_served_by_a_cloudformation_endpoint(tmp_path: Path) -> None:
    _, templates = synth(tmp_path, {"inference": {"model_source": "version", "model_version": "20261123-1"}})
    (model,) = templates["DecorumInference"].find_resources("AWS::SageMaker::Model").values()
    url = json.dumps(model["Properties"]["PrimaryContainer"]["ModelDataUrl"])
    assert "models/20261123-1/model.tar.gz" in url


def test_local_artifact_is_uploaded_as_an_asset(tmp_path: Path) -> None:
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"not really a model")
    _, templates = synth(tmp_path / "out", {"inference": {"model_source": "asset", "model_artifact": str(artifact)}})
    (model,) = templates["DecorumInference"].find_resources("AWS::SageMaker::Model").values()
    assert "cdk-hnb659fds-assets" in json.dumps(model["Properties"]["PrimaryContainer"]["ModelDataUrl"])
    with pytest.raises(InfraConfigError, match="run `make model` first"):
        synth(tmp_path / "out2", {"inference": {"model_source": "asset", "model_artifact": str(tmp_path / "nope")}})


# --------------------------------------------------------------------------------------- inference


def test_serverless_endpoint_config(tmp_path: Path) -> None:
    _, templates = synth(tmp_path, {"inference": {"model_source": "version", "model_version": "v1", "memory_mb": 3072,
                                                  "max_concurrency": 10, "provisioned_concurrency": 2}})
    template = templates["DecorumInference"]
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"ProductionVariants": [Match.object_like({
        "VariantName": "AllTraffic",
        "ServerlessConfig": {"MemorySizeInMB": 3072, "MaxConcurrency": 10, "ProvisionedConcurrency": 2}})]})
    template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "decorum-toxicity"})
    # Serverless Inference does not support network isolation: CreateEndpoint would fail with it.
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert not model["Properties"].get("EnableNetworkIsolation")


def test_endpoint_logs_have_a_home_a_retention_and_a_writer(default_app) -> None:
    template = default_app[1]["DecorumInference"]
    template.has_resource_properties("AWS::Logs::LogGroup", {
        "LogGroupName": "/aws/sagemaker/Endpoints/decorum-toxicity", "RetentionInDays": 30})
    actions = {a for s in statements(template) for a in as_list(s["Action"])}
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:PutMetricData"} <= actions


def test_endpoint_role_reads_the_published_archives_only(default_app, tmp_path: Path) -> None:
    s3 = [s for s in statements(default_app[1]["DecorumInference"]) if "s3:GetObject" in as_list(s["Action"])]
    assert len(s3) == 1 and json.dumps(s3[0]["Resource"]).endswith('"/models/*"]]}')  # any approved version
    _, templates = synth(tmp_path, {"inference": {"model_source": "version", "model_version": "v7"}})
    s3 = [s for s in statements(templates["DecorumInference"]) if "s3:GetObject" in as_list(s["Action"])]
    assert len(s3) == 1 and "models/v7/model.tar.gz" in json.dumps(s3[0]["Resource"])  # exactly the one served


@pytest.mark.parametrize(("decorum", "message"), [
    ({"inference": {"memory_mb": 1500}}, "memory_mb must be 1024"),
    ({"inference": {"max_concurrency": 500}}, "max_concurrency must be in"),
    ({"inference": {"provisioned_concurrency": 30}}, "provisioned_concurrency must be in"),
    ({"slack": {"snap_start": True, "provisioned_concurrency": 1}}, "exclude each other"),
    ({"inference": {"model_source": "version"}}, "model_version is required"),
    ({"model_build": {"profile": "huge"}}, "profile must be"),
    ({"slack": {"reply_mode": "dm"}}, "reply_mode"),
    ({"slack": {"memorymb": 1}}, "unknown key"),
    ({"monitoring": {"alarm_email": "on call"}}, "alarm_email must be one address"),
    ({"monitoring": {"model_latency_p99_ms": 0}}, "model_latency_p99_ms must be > 0"),
])
def test_invalid_settings_fail_at_synth(decorum: dict, message: str) -> None:
    with pytest.raises(InfraConfigError, match=message):
        DecorumConfig.from_dict(decorum)


def test_the_lambda_timeout_must_hold_a_cold_first_call_and_its_retries(tmp_path: Path) -> None:
    with pytest.raises(InfraConfigError, match=r"timeout_seconds \(20\) must exceed the endpoint budget \(18 s"):
        synth(tmp_path, {"slack": {"timeout_seconds": 20}})


def test_build_reads_its_training_data_from_the_source_it_is_given(default_app) -> None:
    """The data travels in the repository (data/): the build job downloads nothing else."""
    template = default_app[1]["DecorumModelBuild"]
    (project,) = template.find_resources("AWS::CodeBuild::Project").values()
    spec = json.dumps(project["Properties"]["Source"]["BuildSpec"])
    assert "shared" not in spec and "DATA_ZIP" not in spec
    assert not any("data.zip" in json.dumps(v) for v in project["Properties"]["Environment"]["EnvironmentVariables"])
    from infra.model_build import SOURCE_EXCLUDES

    assert not any(e.split("/")[0] == "data" for e in SOURCE_EXCLUDES)


# --------------------------------------------------------------------------------------- slack bot


def test_bot_lambda_runtime_url_and_async_retries(default_app) -> None:
    template = default_app[1]["DecorumSlackBot"]
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "decorum-slack-bot", "Runtime": "python3.14", "Architectures": ["arm64"],
        "Handler": "handlers.slack.lambda_handler.handler",
        "Environment": {"Variables": Match.object_like({"DECORUM_ENDPOINT_NAME": Match.any_value(),
                                                        "DECORUM_SLACK_SECRET_ID": Match.any_value(),
                                                        "DECORUM_LEASE_SECONDS": "45"})},
    })
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE",
                                                          "Qualifier": Match.any_value()})  # on the alias
    # Lambda's async retries stay inside Bolt's 300 s signature window; the rest land in a queue. On the
    # alias: the lazy self-invocation targets the ARN the Function URL invoked.
    (invoke_config,) = template.find_resources("AWS::Lambda::EventInvokeConfig", {"Properties": {
        "MaximumEventAgeInSeconds": 240, "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}}}).values()
    assert "SlackBotLive" in json.dumps(invoke_config["Properties"]["Qualifier"])  # the alias, not $LATEST
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "handlers.slack.lambda_handler.handler", "ReservedConcurrentExecutions": 40})  # 2 x 20
    template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(5 minutes)",
        "Targets": [Match.object_like({"Input": json.dumps({"warmup": True}, separators=(",", ":"))})]})


def test_ledger_table_is_on_demand_with_ttl(default_app) -> None:
    default_app[1]["DecorumSlackBot"].has_resource_properties("AWS::DynamoDB::GlobalTable", {
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    })
    (table,) = default_app[1]["DecorumSlackBot"].find_resources("AWS::DynamoDB::GlobalTable").values()
    assert "PointInTimeRecoverySpecification" not in json.dumps(table)  # dedup state: no backups (README)


def test_every_log_group_has_a_retention(default_app) -> None:
    """Every function logs to a log group the stack made with a retention (none is left to Lambda, which
    would keep logs forever), and every log group the stacks make has one."""
    for name, template in default_app[1].items():
        groups = template.find_resources("AWS::Logs::LogGroup")
        assert all("RetentionInDays" in g["Properties"] for g in groups.values()), name
        for logical_id, function in template.find_resources("AWS::Lambda::Function").items():
            log_group = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {})
            assert log_group.get("Ref") in groups, f"{name}: {logical_id} logs to a group without a retention"


def test_the_slack_manifest_asks_only_for_the_scopes_the_bot_uses() -> None:
    manifest = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(BOT_SCOPES)  # what the OAuth install asks for
    assert sorted(scopes) == ["channels:history", "chat:write", "commands", "groups:history", "reactions:read",
                              "users:read"]
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert redirect == manifest["settings"]["event_subscriptions"]["request_url"] + REDIRECT_PATH.lstrip("/")


def test_oauth_mode_keeps_installations_in_an_encrypted_bucket_only_the_bot_reads(tmp_path: Path,
                                                                                   default_app) -> None:
    assert not default_app[1]["DecorumSlackBot"].find_resources("AWS::S3::Bucket")  # one workspace: no bucket
    _, templates = synth(tmp_path, {"slack": {"oauth": True}})
    template = templates["DecorumSlackBot"]
    (logical_id, bucket), = template.find_resources("AWS::S3::Bucket").items()
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "WorkspaceDataKey" in json.dumps(encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"]
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["Environment"]["Variables"][env_name("installation_bucket")] == {"Ref": logical_id}
    s3_statements = [s for s in statements(template) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert s3_statements and all(logical_id in json.dumps(s["Resource"]) for s in s3_statements)
    (secret,) = template.find_resources("AWS::SecretsManager::Secret").values()
    assert "client_id" in secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
    assert "InstallUrl" in json.dumps(template.find_outputs("*"))
    assert not (errors := cfn_lint_errors(tmp_path / "DecorumSlackBot.template.json")), "\n".join(errors)


def test_the_slack_manifest_declares_the_shortcut_the_bot_listens_for() -> None:
    manifest = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())
    (shortcut,) = manifest["features"]["shortcuts"]
    assert shortcut["type"] == "message" and shortcut["callback_id"] == CHECK_SHORTCUT_CALLBACK_ID


def test_the_slack_manifest_sends_button_clicks_to_the_bot() -> None:
    settings = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": settings["event_subscriptions"][
        "request_url"]}


def test_bot_permissions_are_scoped_to_named_resources(default_app) -> None:
    found: dict[str, str] = {}
    for statement in statements(default_app[1]["DecorumSlackBot"]):
        for action in as_list(statement["Action"]):
            found[action] = found.get(action, "") + json.dumps(statement["Resource"])
    assert "decorum-toxicity" in found["sagemaker:InvokeEndpoint"]
    assert ":function:decorum-slack-bot" in found["lambda:InvokeFunction"]
    assert "Ledger" in found["dynamodb:GetItem"] and "Feedback" not in found["dynamodb:GetItem"]
    assert "Ledger" in found["dynamodb:UpdateItem"] and "Feedback" in found["dynamodb:UpdateItem"]
    assert "WorkspaceDataKey" in found["kms:Decrypt"]
    assert "Settings" in found["dynamodb:GetItem"] and "Settings" in found["dynamodb:DeleteItem"]
    assert not any(a.startswith("dynamodb:") and a not in ("dynamodb:GetItem", "dynamodb:UpdateItem",
                                                            "dynamodb:DeleteItem") for a in found)
    assert "Ledger" not in found["dynamodb:DeleteItem"] and "Feedback" not in found["dynamodb:DeleteItem"]
    assert "SlackCredentials" in found["secretsmanager:GetSecretValue"]


def test_the_feedback_table_is_encrypted_with_its_own_key_backed_up_and_expires(default_app) -> None:
    template = default_app[1]["DecorumSlackBot"]
    tables = template.find_resources("AWS::DynamoDB::Table")
    (feedback,) = [t for logical_id, t in tables.items() if "Feedback" in logical_id]
    props = feedback["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] and props["SSESpecification"]["SSEType"] == "KMS"
    assert "WorkspaceDataKey" in json.dumps(props["SSESpecification"]["KMSMasterKeyId"])
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT, "Enabled": True}
    assert feedback["DeletionPolicy"] == "Retain"  # the next model's training data
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    assert "Ref" in env[env_name("feedback_table")] and env[env_name("feedback_keep_text")] == "false"
    assert env[env_name("feedback_ttl_days")] == "90"
    (settings,) = [t for logical_id, t in tables.items() if "Settings" in logical_id]
    assert "WorkspaceDataKey" in json.dumps(settings["Properties"]["SSESpecification"]["KMSMasterKeyId"])
    assert "Ref" in env[env_name("settings_table")]


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(default_app) -> None:
    allowed_star = {"ecr:GetAuthorizationToken", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                    "cloudwatch:PutMetricData",  # held to SageMaker's namespaces by a condition
                    "sagemaker:ListModelPackages"}  # a list action: no resource
    for name, template in default_app[1].items():
        for statement in statements(template):
            actions = as_list(statement["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in actions), (name, actions)
            if "*" in as_list(statement.get("Resource", [])):
                assert set(actions) <= allowed_star, (name, actions)


def test_warm_keeping_alternatives(tmp_path: Path) -> None:
    _, templates = synth(tmp_path / "pc", {"slack": {"provisioned_concurrency": 2}})
    templates["DecorumSlackBot"].has_resource_properties("AWS::Lambda::Alias", {
        "Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}})
    _, templates = synth(tmp_path / "snap", {"slack": {"snap_start": True}})
    templates["DecorumSlackBot"].has_resource_properties("AWS::Lambda::Function", {
        "SnapStart": {"ApplyOn": "PublishedVersions"}})


# --------------------------------------------------------------------------------------- monitoring


@pytest.mark.parametrize(("metric", "statistic", "threshold", "sustained"), [
    ("ModelLatency", "p99", 100_000, True),  # µs
    ("OverheadLatency", "p99", 500_000, True),
    ("ModelSetupTime", "Maximum", 10_000_000, True),
    ("Invocation5XXErrors", "Sum", 1, False),
    ("Invocation4XXErrors", "Sum", 5, False),
    ("ServerlessConcurrentExecutionsUtilization", "Maximum", 0.9, True),
    ("AckLatency", "p99", 2500, True),
    ("Errors", "Sum", 1, False),
    ("Throttles", "Sum", 1, False),
    ("AsyncEventsDropped", "Sum", 1, False),
    ("AsyncEventAge", "Maximum", 120_000, False),
    ("CheckFailures", "Sum", 1, False),
    ("ReactionToReplyLatency", "p99", 2000, True),
    ("ApproximateNumberOfMessagesVisible", "Maximum", 1, False),
])
def test_alarms(default_app, metric: str, statistic: str, threshold: float, sustained: bool) -> None:
    """Failures page at once; latencies and levels when 2 of 3 periods breach; every alarm reports OK."""
    template = default_app[1]["DecorumMonitoring"]
    stat = {"ExtendedStatistic": statistic} if statistic.startswith("p") else {"Statistic": statistic}
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": metric, **stat, "Threshold": threshold,
        "EvaluationPeriods": 3 if sustained else 1, "DatapointsToAlarm": 2 if sustained else 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": [Match.any_value()],
        "OKActions": [Match.any_value()]})


def test_alarm_topic_is_encrypted_and_email_is_optional(default_app, tmp_path: Path) -> None:
    template = default_app[1]["DecorumMonitoring"]
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.resource_count_is("AWS::SNS::Subscription", 0)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    body = json.dumps(template.find_resources("AWS::CloudWatch::Dashboard"))
    for shown in ("ModelSetupTime", "VerdictFlagged", "DuplicatesSuppressed", "ReactionToReplyLatency"):
        assert shown in body
    _, templates = synth(tmp_path, {"monitoring": {"alarm_email": "oncall@example.org"}})
    templates["DecorumMonitoring"].has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "oncall@example.org"})


# --------------------------------------------------------------------------------------- whole app


def cfn_lint_errors(*templates: Path) -> list[str]:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), "--format", "parseable", *map(str, templates)],
                            capture_output=True, text=True)
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr  # bits: 2 errors, 4 warnings, 8 info
    return [line for line in result.stdout.splitlines() if ":E" in line] + (["exit bit 2"] if result.returncode & 2
                                                                            else [])


def test_cfn_lint_finds_no_errors_in_any_template(default_app) -> None:
    templates = sorted(default_app[2].glob("*.template.json"))
    assert len(templates) == 4
    assert not (errors := cfn_lint_errors(*templates)), "\n".join(errors)


def test_synth_with_cloudformation_validation_and_real_bundling(tmp_path: Path) -> None:
    """The one synth that bundles the Lambda offline (pip, no Docker) and runs CDK's own validation."""
    synth(tmp_path, bundle=True, validate=True)
    manifest = json.loads((tmp_path / "DecorumSlackBot.assets.json").read_text())
    code_dirs = [tmp_path / f["source"]["path"] for f in manifest["files"].values()
                 if (tmp_path / f["source"]["path"] / "handlers" / "slack").is_dir()]
    (bundle,) = code_dirs
    size_mb = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= 25, size_mb
    names = {p.name for p in bundle.iterdir()}
    assert {"slack_bolt", "slack_sdk", "aws_lambda_powertools", "aws_xray_sdk", "wrapt", "handlers"} <= names
    assert not names & {"torch", "transformers", "boto3", "botocore", "onnxruntime"}  # botocore: the runtime's
    assert not (bundle / "handlers" / "inference").exists()
    assert not missing_handlers_modules(bundle), "the bundle lacks modules the bot imports"
    manifest = json.loads((tmp_path / "DecorumInference.assets.json").read_text())
    (deployer,) = [tmp_path / f["source"]["path"] for f in manifest["files"].values()
                   if (tmp_path / f["source"]["path"] / "handlers" / "deployer").is_dir()]
    assert {p.name for p in (deployer / "handlers").iterdir()} == {"__init__.py", "settings.py", "deployer"}
    assert not missing_handlers_modules(deployer), "the deployer's bundle lacks modules it imports"


@pytest.mark.parametrize("requirements", ["handlers/slack/requirements.txt", "handlers/deployer/requirements.txt"])
def test_each_lambda_requirements_list_is_whole(requirements: str) -> None:
    """Bundles install with --no-deps: every dependency of a listed package (as its installed metadata
    says) is listed too, or comes with the Lambda runtime."""
    listed = {canonicalize_name(Requirement(line.split("#")[0]).name)
              for line in (REPO / requirements).read_text().splitlines() if line.split("#")[0].strip()}
    for package in listed:
        for text in importlib.metadata.requires(package) or []:
            needed = Requirement(text)
            if needed.marker and not needed.marker.evaluate({"extra": ""}):
                continue  # an optional extra, or another platform's
            name = canonicalize_name(needed.name)
            assert name in listed or name in RUNTIME_PROVIDED, f"{package} needs {name}: list it in {requirements}"


def missing_handlers_modules(root: Path) -> set[str]:
    """`handlers.*` modules imported by the code under `root` that `root` does not hold."""
    missing = set()
    for source in (root / "handlers").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in (n for n in names if n.startswith("handlers.")):
                path = root / name.replace(".", "/")
                if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
                    missing.add(name)
    return missing


def test_the_serving_image_copies_every_module_the_server_imports(tmp_path: Path) -> None:
    """What handlers/inference/Dockerfile COPYs (its context is handlers/) into its WORKDIR."""
    context, image = REPO / "handlers", tmp_path / "workdir"
    for line in (context / "inference" / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, target = line.split()[1:]
            if target.startswith("/"):  # outside the WORKDIR: not code (requirements)
                continue
            for pattern in sources:
                for source in context.glob(pattern):
                    destination = image / target / source.name if target.endswith("/") else image / target
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, destination)
    assert (image / "handlers" / "inference" / "__main__.py").is_file()
    assert not missing_handlers_modules(image), missing_handlers_modules(image)


def test_gpu_build_uses_a_gpu_image(tmp_path: Path) -> None:
    _, templates = synth(tmp_path, {"model_build": {"gpu": True}})
    (project,) = templates["DecorumModelBuild"].find_resources("AWS::CodeBuild::Project").values()
    assert project["Properties"]["Environment"]["Type"] == "LINUX_GPU_CONTAINER"
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    assert "runtime-versions" not in spec["phases"]["install"]
    install = " ".join(spec["phases"]["install"]["commands"])  # the DLC's own CUDA torch stays
    assert "grep -v '^torch==' requirements.txt" in install and "-r requirements.txt" not in install


def test_torch_is_pinned_in_one_place() -> None:
    folders = ("infra", "model_build", "handlers", "local", "bench", ".ci")
    sources = [p for folder in folders for p in (REPO / folder).rglob("*")
               if p.is_file() and p.suffix in ("", ".py", ".txt", ".toml", ".sh")]
    sources += [REPO / name for name in ("Makefile", "requirements.txt", "pyproject.toml", "app.py")]
    pinned = [p.relative_to(REPO).as_posix() for p in sources if re.search(r"torch==\d", p.read_text(errors="replace"))]
    assert pinned == ["requirements.txt"], pinned


def test_every_runtime_runs_a_supported_python(default_app) -> None:
    """pyproject.toml states the supported range once; each runtime the project chooses lies in it."""
    supported = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    (function,) = default_app[1]["DecorumSlackBot"].find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handlers.slack.lambda_handler.handler"}}).values()
    dockerfile = (REPO / "handlers" / "inference" / "Dockerfile").read_text()
    (image,) = re.findall(r"^FROM \S+/python:(\d+\.\d+)", dockerfile, flags=re.M)
    chosen = {"lambda": function["Properties"]["Runtime"].removeprefix("python"), "serving image": image,
              "codebuild": BUILD_PYTHON,
              "gpu image": re.search(r"-py(\d)(\d+)-", DecorumConfig().model_build.gpu_image_tag).expand(r"\1.\2"),
              "this machine": f"{sys.version_info.major}.{sys.version_info.minor}"}
    assert all(version in supported for version in chosen.values()), (supported, chosen)
