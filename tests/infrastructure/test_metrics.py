"""The bot's metrics (handlers/slack/metrics.py) against what the monitoring stack alarms on and graphs:
a metric named on one side only is an alarm that can never fire or a number nobody watches."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Template

from handlers.slack.metrics import DIMENSIONS, MODEL_VERSION_DIMENSION, NAMESPACE, PER_MODEL_VERSION, BotMetric


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
    """Metric name -> dimensions, of plain alarms and of the metrics inside metric-math alarms."""
    found = {}
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [props] + [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        found.update({stat["MetricName"]: stat["Dimensions"] for stat in stats if stat.get("Namespace") == NAMESPACE})
    return found


def _dashboard_body(template: Template) -> str:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    return _flatten(dashboard["Properties"]["DashboardBody"])


def bot_metrics_graphed(template: Template) -> set[str]:
    body = _dashboard_body(template)
    return set(re.findall(rf'\["{re.escape(NAMESPACE)}","(\w+)"', body)) | set(bot_metrics_searched(template))


def bot_metrics_searched(template: Template) -> dict[str, set[str]]:
    """Metric name -> the dimension names of the SEARCH expressions that graph it (one line per value)."""
    found: dict[str, set[str]] = {}
    for schema, name in re.findall(r'SEARCH\(\'\{([^}]*)\} MetricName=\\"(\w+)\\"', _dashboard_body(template)):
        namespace, *dimensions = schema.split(",")
        assert namespace == NAMESPACE
        found[name] = set(dimensions)
    return found


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


def test_per_version_metrics_are_searched_by_the_dimensions_the_bot_adds(default_app) -> None:
    searched = bot_metrics_searched(default_app[1]["DecorumMonitoring"])
    assert set(searched) == {m.value for m in PER_MODEL_VERSION}
    assert all(dimensions == {*DIMENSIONS, MODEL_VERSION_DIMENSION} for dimensions in searched.values())


def test_the_wrong_rate_alarm_divides_the_live_votes(default_app) -> None:
    alarms = default_app[1]["DecorumMonitoring"].find_resources("AWS::CloudWatch::Alarm")
    (alarm,) = [a for a in alarms.values() if a["Properties"]["AlarmName"].endswith("feedback-wrong-rate")]
    queries = alarm["Properties"]["Metrics"]
    names = {q["Id"]: q["MetricStat"]["Metric"]["MetricName"] for q in queries if "MetricStat" in q}
    assert names == {"right": BotMetric.LIVE_FEEDBACK_RIGHT, "wrong": BotMetric.LIVE_FEEDBACK_WRONG}
    (expression,) = [q["Expression"] for q in queries if "Expression" in q]
    assert "100 * wrong / (right + wrong)" in expression and alarm["Properties"]["Threshold"] == 40
