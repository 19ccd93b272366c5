"""Many workspaces: Bolt's OAuth flow on the same Function URL, with slack_sdk's Amazon S3 installation
and state stores (the bucket is encrypted with the workspace-data KMS key: infra/slack.py).

- `/slack/install` (on Lambda: any GET without `code`) renders the "Add to Slack" page; Slack sends the
  person back to `/slack/oauth_redirect` with a code, exchanged by `oauth.v2.access`; the bot token is
  stored per workspace and Bolt's authorize looks it up for every request from that workspace.
- `app_uninstalled` and `tokens_revoked` delete the workspace's installation and its settings.

`BOT_SCOPES` is what the install asks for; infra/slack-app-manifest.yaml lists the same (a test
compares them).
"""

from __future__ import annotations

import boto3
from aws_lambda_powertools import Logger
from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.amazon_s3 import AmazonS3InstallationStore
from slack_sdk.oauth.state_store.amazon_s3 import AmazonS3OAuthStateStore

from handlers.slack.config import LOG_SERVICE, BotConfig, SlackCredentials
from handlers.slack.workspace_settings import SettingsStore

log = Logger(service=LOG_SERVICE, child=True)

BOT_SCOPES = ("reactions:read", "channels:history", "groups:history", "chat:write", "commands", "users:read")
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
STATE_EXPIRY_S = 600  # the install page's state is good for 10 minutes


def oauth_settings(config: BotConfig, credentials: SlackCredentials) -> OAuthSettings:
    s3 = boto3.client("s3", endpoint_url=config.s3_endpoint_url)
    return OAuthSettings(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=AmazonS3InstallationStore(s3_client=s3, bucket_name=config.installation_bucket,
                                                     client_id=credentials.client_id, historical_data_enabled=False),
        state_store=AmazonS3OAuthStateStore(s3_client=s3, bucket_name=config.installation_bucket,
                                            expiration_seconds=STATE_EXPIRY_S),
    )


def register_uninstall(app: App, installations: InstallationStore, settings: SettingsStore | None) -> None:
    """The workspace removed the app, or revoked its bot token: forget its token and its settings."""

    def uninstalled(body: dict) -> None:
        team, enterprise = body.get("team_id"), body.get("enterprise_id")
        installations.delete_all(enterprise_id=enterprise, team_id=team)
        if settings is not None and team:
            settings.delete_workspace(team)
        log.info("workspace uninstalled: installation and settings deleted")

    def revoked(body: dict, event: dict) -> None:
        if (event.get("tokens") or {}).get("bot"):
            uninstalled(body)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)
