"""A monthly cost estimate for a small workspace, from the synthesized stacks and dated list prices.

The resource counts (alarms and the metrics in them, KMS keys, secrets, dashboards, tables, the warm-up
schedule, memory sizes) are read from the stacks `cdk synth` makes with the default `cdk.json`; the
traffic is an assumption stated below. The prices are AWS's published on-demand list prices for
us-east-1 as of PRICES_AS_OF; they cannot be checked offline: confirm them with the AWS Pricing
Calculator before relying on the total.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

PRICES_AS_OF = "2025-06 (us-east-1 list prices, aws.amazon.com/<service>/pricing)"


@dataclass(frozen=True)
class Prices:
    serverless_gb_second: float = 0.0000200  # SageMaker Serverless Inference, per second per GB of memory
    serverless_gb_processed: float = 0.016  # data in + out
    lambda_arm_gb_second: float = 0.0000133334
    lambda_request: float = 0.20 / 1e6
    dynamodb_write: float = 0.625 / 1e6  # on-demand write request unit (after the Nov 2024 price cut)
    dynamodb_read: float = 0.125 / 1e6
    dynamodb_pitr_gb_month: float = 0.20
    alarm_metric: float = 0.10  # per metric in a standard-resolution alarm
    custom_metric: float = 0.30  # first 10,000 metrics
    dashboard: float = 3.00  # beyond the 3 free ones
    log_gb_ingested: float = 0.50
    kms_key: float = 1.00
    secret: float = 0.40
    codebuild_large_minute: float = 0.020  # BUILD_GENERAL1_LARGE, Linux
    ecr_gb_month: float = 0.10


@dataclass(frozen=True)
class Workload:
    """A small workspace: a few checks a day per channel in a few dozen channels."""

    checks: int = 3_000  # per month
    votes: int = 300
    endpoint_seconds_per_check: float = 0.06  # explained verdict, warm (bench/explain)
    lambda_ack_seconds: float = 0.05
    lambda_check_seconds: float = 0.35  # claim, fetch, classify, reply (bench/stack)
    log_kb_per_check: float = 3.0
    model_versions_voted: int = 2  # per-version vote metrics of the live and the previous model
    builds: int = 1  # full profile on CodeBuild LARGE
    build_minutes: float = 30.0
    image_gb: float = 0.6


def _templates() -> dict[str, dict]:
    from aws_cdk import App

    from infra.config import DecorumConfig
    from infra.stacks import build_app

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    context = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]
    with tempfile.TemporaryDirectory() as out:
        app = App(context={**context, "aws:cdk:bundling-stacks": []}, outdir=out)
        decorum = build_app(app, DecorumConfig.from_node(app.node))
        app.synth()
        return {s.stack_name: json.loads((Path(out) / f"{s.stack_name}.template.json").read_text())
                for s in decorum.stacks}


def _resources(templates: dict[str, dict], kind: str) -> list[dict]:
    return [r for t in templates.values() for r in t["Resources"].values() if r["Type"] == kind]


def estimate(workload: Workload = Workload(), prices: Prices = Prices()) -> dict:
    from handlers.slack.metrics import PER_MODEL_VERSION, BotMetric

    templates = _templates()
    alarms = _resources(templates, "AWS::CloudWatch::Alarm")
    alarm_metrics = sum(len([q for q in a["Properties"].get("Metrics", []) if "MetricStat" in q]) or 1
                        for a in alarms)
    (bot,) = [f for f in _resources(templates, "AWS::Lambda::Function") if "slack" in json.dumps(f["Properties"].get(
        "Handler", ""))]
    bot_gb = bot["Properties"]["MemorySize"] / 1024
    rules = _resources(templates, "AWS::Events::Rule")
    warmups = sum(30 * 24 * 60 // int(r["Properties"]["ScheduleExpression"].split("(")[1].split()[0])
                  for r in rules if "ScheduleExpression" in r["Properties"])
    from infra.config import InferenceSettings

    endpoint_gb = InferenceSettings().memory_mb / 1024
    custom_metrics = (len(BotMetric) - len(PER_MODEL_VERSION)) + len(PER_MODEL_VERSION) * workload.model_versions_voted
    w, p = workload, prices
    items = {
        "SageMaker serverless: checks and warm-up pings": (w.checks * w.endpoint_seconds_per_check
                                                            + warmups * 0.02) * endpoint_gb * p.serverless_gb_second
        + (w.checks * 6e-6 * 2) * p.serverless_gb_processed,
        "Lambda: acks, lazy checks, votes, warm-ups": (
            (2 * w.checks + 2 * w.votes + warmups) * p.lambda_request
            + (w.checks * (w.lambda_ack_seconds + w.lambda_check_seconds) + w.votes * 0.3 + warmups * 0.05)
            * bot_gb * p.lambda_arm_gb_second),
        "DynamoDB: ledger and feedback writes, reads": (w.checks * 3 + w.votes) * p.dynamodb_write
        + w.checks * p.dynamodb_read + 0.01 * p.dynamodb_pitr_gb_month,
        f"CloudWatch alarms ({len(alarms)} alarms, {alarm_metrics} metrics)": alarm_metrics * p.alarm_metric,
        f"CloudWatch custom metrics ({custom_metrics})": custom_metrics * p.custom_metric,
        f"CloudWatch dashboards ({len(_resources(templates, 'AWS::CloudWatch::Dashboard'))})":
            len(_resources(templates, "AWS::CloudWatch::Dashboard")) * p.dashboard,
        "CloudWatch Logs ingestion": w.checks * w.log_kb_per_check / 1e6 * p.log_gb_ingested,
        f"KMS keys ({len(_resources(templates, 'AWS::KMS::Key'))})":
            len(_resources(templates, "AWS::KMS::Key")) * p.kms_key,
        f"Secrets Manager ({len(_resources(templates, 'AWS::SecretsManager::Secret'))})":
            len(_resources(templates, "AWS::SecretsManager::Secret")) * p.secret,
        "CodeBuild: one full model build": w.builds * w.build_minutes * p.codebuild_large_minute,
        "ECR: the serving image": w.image_gb * p.ecr_gb_month,
    }
    items = {name: round(cost, 2) for name, cost in items.items()}
    return {"prices_as_of": PRICES_AS_OF, "workload": asdict(workload), "warmup_invocations": warmups,
            "monthly_usd": items, "total_usd": round(sum(items.values()), 2)}


def bench_cost() -> dict:
    return estimate()
