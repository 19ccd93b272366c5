"""Monitoring: the alarm topic, latency and error alarms for the endpoint and the bot, and a dashboard
for on-call (latency percentiles, cold starts, verdicts, duplicates suppressed)."""

from __future__ import annotations

from aws_cdk import (
    Duration,
    RemovalPolicy,
    aws_cloudwatch,
    aws_cloudwatch_actions,
    aws_iam,
    aws_kms,
    aws_sns,
    aws_sns_subscriptions,
    aws_sqs,
)
from aws_cdk.aws_cloudwatch import ComparisonOperator, GraphWidget, MathExpression, Metric, TreatMissingData
from constructs import Construct

from handlers.slack.metrics import DIMENSIONS, MODEL_VERSION_DIMENSION, NAMESPACE, BotMetric
from infra.config import MonitoringSettings

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: MonitoringSettings, prefix: str,
                 endpoint_name: str, variant_name: str, function_name: str, dead_letters: aws_sqs.IQueue,
                 deployer_function_name: str | None = None) -> None:
        super().__init__(scope, construct_id)
        key = aws_kms.Key(self, "TopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                          description=f"{prefix}: alarm topic")
        key.grant_encrypt_decrypt(aws_iam.ServicePrincipal("cloudwatch.amazonaws.com"))  # alarms publish
        self.topic = aws_sns.Topic(self, "Alarms", display_name=f"{prefix} alarms", master_key=key,
                                   enforce_ssl=True)
        if settings.alarm_email:
            self.topic.add_subscription(aws_sns_subscriptions.EmailSubscription(settings.alarm_email))

        endpoint = {"EndpointName": endpoint_name, "VariantName": variant_name}

        def sagemaker(name: str, statistic: str) -> Metric:
            return Metric(namespace="AWS/SageMaker", metric_name=name, dimensions_map=endpoint, statistic=statistic,
                          period=PERIOD)

        def lambda_metric(name: str, statistic: str) -> Metric:
            return Metric(namespace="AWS/Lambda", metric_name=name, dimensions_map={"FunctionName": function_name},
                          statistic=statistic, period=PERIOD)

        def bot(name: BotMetric, statistic: str) -> Metric:
            return Metric(namespace=NAMESPACE, metric_name=name, dimensions_map=DIMENSIONS,
                          statistic=statistic, period=PERIOD)

        self.alarms: list[aws_cloudwatch.Alarm] = []

        def alarm(name: str, metric: Metric | MathExpression, threshold: float, description: str,
                  sustained: bool = False) -> None:
            """Counts of failures page at once; latencies and levels only when 2 of 3 periods breach (one
            slow cold start is not an incident). Every alarm also says when it is over (OK action)."""
            made = metric.create_alarm(
                self, name, alarm_name=f"{prefix}-{name}", threshold=threshold,
                evaluation_periods=3 if sustained else 1, datapoints_to_alarm=2 if sustained else 1,
                comparison_operator=ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=TreatMissingData.NOT_BREACHING, alarm_description=description,
            )
            made.add_alarm_action(aws_cloudwatch_actions.SnsAction(self.topic))
            made.add_ok_action(aws_cloudwatch_actions.SnsAction(self.topic))
            self.alarms.append(made)

        # SageMaker reports its latencies in microseconds.
        alarm("endpoint-model-latency-p99", sagemaker("ModelLatency", "p99"), settings.model_latency_p99_ms * 1000,
              "p99 time the model container took to answer", sustained=True)
        alarm("endpoint-overhead-latency-p99", sagemaker("OverheadLatency", "p99"),
              settings.overhead_latency_p99_ms * 1000, "p99 SageMaker overhead around the container (cold starts)",
              sustained=True)
        alarm("endpoint-model-setup-time", sagemaker("ModelSetupTime", "Maximum"), settings.model_setup_time_ms * 1000,
              "serverless cold start: time to launch the container and load the model", sustained=True)
        alarm("endpoint-5xx", sagemaker("Invocation5XXErrors", "Sum"), 1, "endpoint failed requests")
        alarm("endpoint-4xx", sagemaker("Invocation4XXErrors", "Sum"), settings.endpoint_4xx_per_period,
              "requests the container refused (400/413/415): the bot and the server disagree on the contract")
        # Serverless endpoints publish no throttle count; utilization of MaxConcurrency is the warning.
        alarm("endpoint-concurrency", sagemaker("ServerlessConcurrentExecutionsUtilization", "Maximum"),
              settings.endpoint_concurrency_utilization, "concurrent executions near MaxConcurrency: throttling next",
              sustained=True)
        # The acks alone: the Lambda's Duration mixes them with lazy checks and warm-up pings.
        alarm("bot-ack-p99", bot(BotMetric.ACK_LATENCY, "p99"), settings.lambda_duration_p99_ms,
              "Slack waits 3 s for the answer to its HTTP request: p99 time to ack", sustained=True)
        alarm("bot-errors", lambda_metric("Errors", "Sum"), 1, "failed invocations (lazy runs are retried)")
        alarm("bot-throttles", lambda_metric("Throttles", "Sum"), 1, "throttled invocations: reactions may be lost")
        alarm("bot-async-events-dropped", lambda_metric("AsyncEventsDropped", "Sum"), 1,
              "lazy checks Lambda dropped (too old, or retries exhausted without a destination)")
        alarm("bot-async-event-age", lambda_metric("AsyncEventAge", "Maximum"), settings.async_event_age_ms,
              "lazy checks waiting in Lambda's queue: near the 240 s age past which Bolt would reject them")
        alarm("bot-check-failures", bot(BotMetric.CHECK_FAILURES, "Sum"), 1, "checks that replied 'the check failed'")
        alarm("bot-reaction-to-reply-p99", bot(BotMetric.REACTION_TO_REPLY_LATENCY, "p99"),
              settings.reaction_to_reply_p99_ms,
              "p99 time from the reaction to the bot's reply", sustained=True)
        if deployer_function_name:
            alarm("model-deployment-failed", Metric(namespace="AWS/Lambda", metric_name="Errors", statistic="Sum",
                                                    dimensions_map={"FunctionName": deployer_function_name},
                                                    period=PERIOD),
                  1, "an approved model version could not be deployed; the endpoint serves the previous one")
        # Votes arrive by the handful: judged per hour, and only once enough people voted.
        votes = {"right": bot(BotMetric.LIVE_FEEDBACK_RIGHT, "Sum").with_(period=Duration.hours(1)),
                 "wrong": bot(BotMetric.LIVE_FEEDBACK_WRONG, "Sum").with_(period=Duration.hours(1))}
        wrong_rate = MathExpression(
            expression=f"IF((right + wrong) >= {settings.feedback_min_votes:g}, 100 * wrong / (right + wrong), 0)",
            using_metrics=votes, period=Duration.hours(1), label="wrong votes on the live model (%)")
        alarm("feedback-wrong-rate", wrong_rate, settings.feedback_wrong_rate_percent,
              f"people said 'wrong' to at least {settings.feedback_wrong_rate_percent:g} % of the live model's "
              f"verdicts in an hour (at least {settings.feedback_min_votes:g} votes)")
        alarm("bot-lost-checks", dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD,
                                                                                           statistic="Maximum"),
              1, "lazy checks that failed every retry: a reaction went unanswered")

        self.dashboard = aws_cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{prefix}-toxicity-guard")
        percentiles = ("p50", "p90", "p99")
        self.dashboard.add_widgets(
            GraphWidget(title="Reaction to reply (ms)", width=12,
                        left=[bot(BotMetric.REACTION_TO_REPLY_LATENCY, p) for p in percentiles]),
            GraphWidget(title="Endpoint latency seen by the bot (ms)", width=12,
                        left=[bot(BotMetric.ENDPOINT_LATENCY, p) for p in percentiles]),
        )
        self.dashboard.add_widgets(
            GraphWidget(title="SageMaker model latency (µs)", width=8,
                        left=[sagemaker("ModelLatency", p) for p in percentiles]),
            GraphWidget(title="SageMaker overhead latency (µs)", width=8,
                        left=[sagemaker("OverheadLatency", p) for p in percentiles]),
            GraphWidget(title="Cold starts: model setup time (µs)", width=8,
                        left=[sagemaker("ModelSetupTime", "Maximum")],
                        right=[sagemaker("ModelSetupTime", "SampleCount")]),
        )
        self.dashboard.add_widgets(
            GraphWidget(title="Verdicts", width=8, stacked=True,
                        left=[bot(BotMetric.VERDICT_FLAGGED, "Sum"), bot(BotMetric.VERDICT_CLEAN, "Sum")]),
            GraphWidget(title="Duplicates suppressed and failures", width=8,
                        left=[bot(BotMetric.DUPLICATES_SUPPRESSED, "Sum"), bot(BotMetric.CHECK_FAILURES, "Sum"),
                              bot(BotMetric.CHECK_ERRORS, "Sum"), bot(BotMetric.SLACK_RATE_LIMITED, "Sum")]),
            GraphWidget(title="Acks to Slack (ms), Lambda errors and throttles", width=8,
                        left=[bot(BotMetric.ACK_LATENCY, p) for p in percentiles],
                        right=[lambda_metric("Errors", "Sum"), lambda_metric("Throttles", "Sum")]),
        )

        def per_version(name: BotMetric) -> MathExpression:  # one line per model version that got votes
            return MathExpression(expression=(
                f"SEARCH('{{{NAMESPACE},{','.join(sorted([*DIMENSIONS, MODEL_VERSION_DIMENSION]))}}} "
                f"MetricName=\"{name}\"', 'Sum', 3600)"), using_metrics={}, label=name)

        self.dashboard.add_widgets(
            GraphWidget(title="Votes on the live model (per hour) and its wrong rate (%)", width=12,
                        left=list(votes.values()), right=[wrong_rate]),
            GraphWidget(title="Votes per model version (per hour)", width=12,
                        left=[per_version(BotMetric.FEEDBACK_RIGHT), per_version(BotMetric.FEEDBACK_WRONG)]),
        )

