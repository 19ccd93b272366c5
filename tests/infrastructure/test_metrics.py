"""The bot's metrics (handlers/slack/metrics.py) against what the monitoring stack alarms on and graphs:
a metric named on one side only is an alarm that can never fire or a number nobody watches."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Template

from handlers.slack.metrics import DIMENSIONS, NAMESPACE, BotMetric


def _flatten(value) -> str:
    """A dashboard body is an Fn::Join of literal parts and tokens; the literal parts hold the metrics."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_flatten(v) for v in value)
    if isinstance(value, dict):
        return "".join(_flatten(v) for k, v in value.items() if k == "Fn::Join") or "<token>"
    return str(value)


def bot_metrics_alarmed(template: Template) -> dict[str, list[dict]]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    return {a["Properties"]["MetricName"]: a["Properties"]["Dimensions"] for a in alarms
            if a["Properties"].get("Namespace") == NAMESPACE}


def bot_metrics_graphed(template: Template) -> set[str]:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = _flatten(dashboard["Properties"]["DashboardBody"])
    return set(re.findall(rf'\["{re.escape(NAMESPACE)}","(\w+)"', body))


def test_every_alarm_and_widget_names_a_metric_the_bot_declares(default_app) -> None:
    template = default_app[1]["DecorumMonitoring"]
    alarmed, graphed = bot_metrics_alarmed(template), bot_metrics_graphed(template)
    assert alarmed and graphed
    declared = {m.value for m in BotMetric}
    assert set(alarmed) <= declared, f"alarms on undeclared metrics: {set(alarmed) - declared}"
    assert graphed <= declared, f"widgets of undeclared metrics: {graphed - declared}"
    expected = [{"Name": name, "Value": value} for name, value in DIMENSIONS.items()]
    assert all(dimensions == expected for dimensions in alarmed.values())


def test_every_declared_metric_is_watched(default_app) -> None:
    template = default_app[1]["DecorumMonitoring"]
    watched = set(bot_metrics_alarmed(template)) | bot_metrics_graphed(template)
    assert {m.value for m in BotMetric} == watched


def test_the_failure_alarm_is_on_the_metric_the_checker_emits(default_app) -> None:
    alarms = default_app[1]["DecorumMonitoring"].find_resources("AWS::CloudWatch::Alarm")
    (failures,) = [a for a in alarms.values() if a["Properties"]["AlarmName"].endswith("bot-check-failures")]
    assert failures["Properties"]["MetricName"] == BotMetric.CHECK_FAILURES
    assert json.dumps(failures["Properties"]["Namespace"]) == json.dumps(NAMESPACE)
