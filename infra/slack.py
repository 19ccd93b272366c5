"""Slack bot: the Bolt Lambda (bundled without Docker), its Function URL, the reply ledger table,
the Slack credentials secret, warm-keeping, and a queue for lazy runs that could not be completed."""

from __future__ import annotations

from aws_cdk import (
    ArnFormat,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    aws_dynamodb,
    aws_events,
    aws_events_targets,
    aws_iam,
    aws_kms,
    aws_lambda,
    aws_lambda_destinations,
    aws_logs,
    aws_s3,
    aws_secretsmanager,
    aws_sqs,
)
from constructs import Construct

from handlers.settings import to_env
from handlers.slack.config import BotConfig
from handlers.slack.feedback import EXPIRES_AT as FEEDBACK_EXPIRES_AT
from infra import nag
from infra.bundling import slack_lambda_code
from infra.config import InfraConfigError, SlackSettings

RUNTIME = aws_lambda.Runtime.PYTHON_3_14
ARCHITECTURE = aws_lambda.Architecture.ARM_64
# Bolt re-checks the request signature when a lazy run starts and rejects requests older than 300 s:
# a Lambda retry later than that would be dropped with a 401. Keep retries inside the window.
MAX_EVENT_AGE = Duration.seconds(240)


class SlackBot(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: SlackSettings, prefix: str,
                 endpoint_name: str, endpoint_arn: str, endpoint_max_concurrency: int) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.table = aws_dynamodb.TableV2(
            self, "Ledger",
            partition_key=aws_dynamodb.Attribute(name="pk", type=aws_dynamodb.AttributeType.STRING),
            billing=aws_dynamodb.Billing.on_demand(),
            time_to_live_attribute="expires_at",
            # No point-in-time recovery: the table holds dedup claims that expire in days; restoring it
            # would at worst let a retried event be answered twice. Backups would cost without value.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Workspaces' own data, under their own key, with backups: votes on verdicts and (only where the
        # workspace opts in) the text they judged, the next model's training data; and the settings
        # admins change in App Home.
        self.data_key = aws_kms.Key(self, "WorkspaceDataKey", enable_key_rotation=True,
                                    removal_policy=RemovalPolicy.RETAIN,
                                    description=f"{prefix}: feedback and settings tables")
        # Table (not TableV2): TableV2 renders a customer managed key per replica region, which a
        # region-agnostic stack cannot.
        self.feedback_table = aws_dynamodb.Table(
            self, "Feedback",
            partition_key=aws_dynamodb.Attribute(name="pk", type=aws_dynamodb.AttributeType.STRING),
            billing_mode=aws_dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=FEEDBACK_EXPIRES_AT,
            encryption=aws_dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=self.data_key,
            point_in_time_recovery_specification=aws_dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.settings_table = aws_dynamodb.Table(
            self, "Settings",
            partition_key=aws_dynamodb.Attribute(name="pk", type=aws_dynamodb.AttributeType.STRING),
            billing_mode=aws_dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=aws_dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=self.data_key,
            point_in_time_recovery_specification=aws_dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # OAuth: one installation (bot token) per workspace, written by slack_sdk's S3 installation store.
        self.installations = aws_s3.Bucket(
            self, "Installations", encryption=aws_s3.BucketEncryption.KMS, encryption_key=self.data_key,
            bucket_key_enabled=True, enforce_ssl=True, block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.RETAIN) if settings.oauth else None
        needed = "client_id, client_secret and signing_secret" if settings.oauth else "bot_token and signing_secret"
        self.secret = aws_secretsmanager.Secret(
            self, "SlackCredentials",
            description=f"Slack app credentials for Decorum: set {needed} after deploy",
            generate_secret_string=aws_secretsmanager.SecretStringGenerator(
                # Placeholders to replace with the app's values (api.slack.com/apps, Basic Information).
                secret_string_template='{"client_id": "set-me", "client_secret": "set-me"}' if settings.oauth
                else '{"bot_token": "xoxb-set-me"}',
                generate_string_key="signing_secret"),
        )
        self.dead_letters = aws_sqs.Queue(
            self, "FailedChecks",
            retention_period=Duration.days(14),
            encryption=aws_sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        log_group = aws_logs.LogGroup(self, "Logs", retention=aws_logs.RetentionDays.ONE_MONTH,
                                      removal_policy=RemovalPolicy.DESTROY)
        self.function_name = f"{prefix}-{settings.function_name}" if prefix != "decorum" else settings.function_name
        reserved_concurrency = max(settings.provisioned_concurrency + 1, 2 * endpoint_max_concurrency)
        # Built as the bot's own BotConfig, so the stack names its variables the way the bot reads
        # them and an invalid value fails `cdk synth`.
        bot_config = BotConfig(
            endpoint_name=endpoint_name,
            ledger_table=self.table.table_name,
            slack_secret_id=self.secret.secret_arn,
            trigger_emojis=settings.trigger_emojis,
            reply_mode=settings.reply_mode,
            lease_seconds=settings.timeout_seconds + 15,  # > the function timeout: a live attempt is never taken over
            warmup_pings_endpoint=settings.warmup_pings_endpoint,
            explain=settings.explain,
            feedback_table=self.feedback_table.table_name,
            feedback_ttl_days=settings.feedback_ttl_days,
            feedback_keep_text=settings.feedback_keep_text,
            settings_table=self.settings_table.table_name,
            installation_bucket=self.installations.bucket_name if self.installations else "",
        )
        if bot_config.classify_budget_s + 5 > settings.timeout_seconds:
            raise InfraConfigError(f"decorum.slack.timeout_seconds ({settings.timeout_seconds}) must exceed the "
                                   f"endpoint budget ({bot_config.classify_budget_s:g} s: a cold first call and "
                                   "its retries) by 5 s")
        self.function = aws_lambda.Function(
            self, "Function",
            function_name=self.function_name,
            description="Decorum Slack bot: acks reaction events, checks the message, replies once",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handlers.slack.lambda_handler.handler",
            code=slack_lambda_code(RUNTIME, ARCHITECTURE),
            memory_size=settings.memory_mb,
            # Acks are instant; each lazy check holds one endpoint call at a time: more concurrent
            # invocations than twice the endpoint's concurrency would only be throttled there.
            reserved_concurrent_executions=reserved_concurrency,
            timeout=Duration.seconds(settings.timeout_seconds),
            log_group=log_group,
            tracing=aws_lambda.Tracing.ACTIVE,
            snap_start=aws_lambda.SnapStartConf.ON_PUBLISHED_VERSIONS if settings.snap_start else None,
            environment=to_env(bot_config),
        )
        self.alias = aws_lambda.Alias(
            self, "Live", alias_name="live", version=self.function.current_version,
            provisioned_concurrent_executions=settings.provisioned_concurrency or None,
        )
        # On the alias: Bolt's lazy self-invocation targets the ARN it was invoked by (the Function URL's,
        # the alias), and Lambda applies the invoke config of the qualifier invoked; on $LATEST it never
        # applied, and failed checks never reached the queue.
        self.alias.configure_async_invoke(
            max_event_age=MAX_EVENT_AGE,
            retry_attempts=2,
            on_failure=aws_lambda_destinations.SqsDestination(self.dead_letters),
        )
        self.url = self.alias.add_function_url(auth_type=aws_lambda.FunctionUrlAuthType.NONE)  # Bolt checks signatures

        # Least privilege, resource by resource. The function invokes itself for Bolt's lazy
        # listeners; a fixed name avoids the circular reference that grant_invoke(self) makes.
        function_arn = stack.format_arn(service="lambda", resource="function", resource_name=self.function_name,
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self.function.add_to_role_policy(aws_iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[function_arn, f"{function_arn}:*"]))
        self.function.add_to_role_policy(aws_iam.PolicyStatement(
            actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn]))
        self.function.add_to_role_policy(aws_iam.PolicyStatement(
            actions=["dynamodb:UpdateItem", "dynamodb:GetItem"], resources=[self.table.table_arn]))
        self.feedback_table.grant(self.function, "dynamodb:UpdateItem")  # record verdicts, set votes
        # Read settings, save them, delete a workspace's on uninstall.
        self.settings_table.grant(self.function, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        self.data_key.grant_encrypt_decrypt(self.function)
        if self.installations:  # installations and OAuth states: read, write, delete (uninstall)
            self.installations.grant_read_write(self.function)
            self.installations.grant_delete(self.function)
        self.secret.grant_read(self.function)

        if settings.warmup_minutes:
            aws_events.Rule(
                self, "WarmUp",
                description="Keeps the Slack bot (and, optionally, the endpoint) warm",
                schedule=aws_events.Schedule.rate(Duration.minutes(settings.warmup_minutes)),
                targets=[aws_events_targets.LambdaFunction(
                    self.alias, event=aws_events.RuleTargetInput.from_object({"warmup": True}))],
            )
        self._acknowledge_findings()
        CfnOutput(self, "RequestUrl", value=self.url.url,
                  description="Slack Event Subscriptions request URL (append nothing)")
        CfnOutput(self, "SecretName", value=self.secret.secret_name,
                  description=f"Put the Slack app's {needed} here")
        if self.installations:
            CfnOutput(self, "InstallUrl", value=f"{self.url.url}slack/install",
                      description="The 'Add to Slack' page; its redirect URL is <RequestUrl>slack/oauth_redirect")

    def _acknowledge_findings(self) -> None:
        nag.ack_findings(self.function, "IAM4", nag.LAMBDA_BASIC, nag.LAMBDA_BASIC_FINDING)
        nag.ack_findings(self.function, "IAM5", "X-Ray's PutTraceSegments/PutTelemetryRecords require '*'.",
                         "Resource::*")
        nag.ack_findings(self.function, "IAM5", "The self-invocation for Bolt's lazy listeners is on this function's "
                                                "own name; ':*' covers its alias and versions.",
                         "Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:"
                         f"{self.function_name}:*")
        nag.ack(self.secret, SMG4="Slack bot tokens and signing secrets are rotated in Slack's app settings, not by "
                                  "an AWS rotation Lambda; update the secret when you rotate them there.")
        nag.ack(self.table, DDB3="Dedup claims with a 7-day TTL: losing them at worst answers a retried event twice; "
                                 "point-in-time recovery would cost without value.")
        nag.ack_findings(self.function, "IAM5", "KMS data-key actions on the workspace data tables' own key "
                                                "(GenerateDataKey*, ReEncrypt*), as CDK's key grant writes them.",
                         "Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*")
        if self.installations:
            nag.ack(self.installations, S1="Holds bot tokens, read and written only by the bot's role: access "
                                           "logging would need a second bucket; CloudTrail data events can "
                                           "audit it where required.")
            nag.ack_findings(self.function, "IAM5", "The installation bucket's objects (one per workspace and "
                                                    "OAuth state), as CDK's bucket grant writes them.",
                             "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*",
                             "Action::s3:Abort*", "Action::s3:DeleteObject*",
                             f"Resource::<{Stack.of(self).get_logical_id(self.installations.node.default_child)}"
                             ".Arn>/*")
        nag.ack(self.dead_letters, SQS3="This queue is itself the on-failure destination of the bot's asynchronous "
                                        "invocations (lazy checks that failed every retry).")
