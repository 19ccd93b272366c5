"""Many workspaces (handlers/slack/oauth.py): Bolt's OAuth flow with slack_sdk's S3 stores (moto),
installs driven the way a browser and Slack drive them, events from two workspaces side by side."""

from __future__ import annotations

import html
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from handlers.slack.app import create_app
from handlers.slack.config import SlackCredentials
from handlers.slack.intake import Intake
from handlers.slack.ledger import ReplyLedger
from handlers.slack.local_server import make_server as make_bolt_server
from handlers.slack.oauth import BOT_SCOPES
from handlers.slack.workspace_settings import Override, SettingsStore
from local.slack_standin import SlackStandIn
from tests.conftest import REPO, serve_in_thread
from tests.integration.conftest import bot_config, forged, post_as_slack


@dataclass
class App:
    standin: SlackStandIn
    url: str  # the bot's base URL
    bucket: str
    config: object


@pytest.fixture
def oauth_app(moto_url, ledger_table, feedback_table, settings_table, endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_url)
    bucket = "decorum-installations-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    credentials = SlackCredentials("", uuid.uuid4().hex, "1234.5678", uuid.uuid4().hex)
    standin = SlackStandIn("", credentials.signing_secret, team_id="TNONE", client_id=credentials.client_id,
                           client_secret=credentials.client_secret).start()
    config = bot_config(moto_url, ledger_table, endpoint, standin, feedback_table, settings_table,
                        installation_bucket=bucket, s3_endpoint_url=moto_url, settings_cache_s=1.0)
    server = make_bolt_server(create_app(config, credentials), Intake(credentials.signing_secret), "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    standin.request_url = f"{url}/slack/events"
    yield App(standin, url, bucket, config)
    server.shutdown()
    server.server_close()
    standin.stop()


def installed(app: App, team: str) -> str:
    status, page = app.standin.install(team, app.url)
    assert status == 200, page
    channel = "C" + uuid.uuid4().hex[:8].upper()
    app.standin.add_channel(channel, team)
    return channel


def stored_objects(app: App) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=app.config.s3_endpoint_url)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=app.bucket).get("Contents", [])]


def test_the_install_page_asks_for_exactly_the_manifests_scopes(oauth_app: App) -> None:
    import yaml

    page = urllib.request.urlopen(f"{oauth_app.url}/slack/install", timeout=10).read().decode()
    assert "Add to Slack" in page and "https://slack.com/oauth/v2/authorize" in page
    manifest = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    authorize = html.unescape(page[page.index("https://slack.com/oauth/v2/authorize"):].split('"')[0])
    query = parse_qs(urlparse(authorize).query)
    assert query["scope"] == [",".join(BOT_SCOPES)] and query["client_id"] == ["1234.5678"] and query["state"]


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(oauth_app: App) -> None:
    app = oauth_app
    first, second = "TFIRST" + uuid.uuid4().hex[:4].upper(), "TSECOND" + uuid.uuid4().hex[:4].upper()
    channel_1, channel_2 = installed(app, first), installed(app, second)
    assert len([k for k in stored_objects(app) if "installer" in k or "bot" in k]) >= 2
    ts_1 = app.standin.post_user_message(channel_1, "you are a complete idiot")
    ts_2 = app.standin.post_user_message(channel_2, "you are a complete idiot")
    app.standin.react(channel_1, ts_1, "triangular_flag_on_post")
    app.standin.react(channel_2, ts_2, "triangular_flag_on_post")
    assert len(app.standin.wait_for_replies(channel_1, ts_1)) == 1
    assert len(app.standin.wait_for_replies(channel_2, ts_2)) == 1
    posted_as = [team for method, team in app.standin.workspace.api_calls_by_team if method == "chat.postMessage"]
    assert sorted(posted_as) == sorted([first, second])  # each reply with its workspace's token
    # Each workspace's ledger rows are its own.
    ledger = boto3.client("dynamodb", endpoint_url=app.config.dynamodb_endpoint_url)
    for team, channel, ts in ((first, channel_1, ts_1), (second, channel_2, ts_2)):
        key = {"pk": {"S": ReplyLedger.key(channel, ts, team)}}
        assert ledger.get_item(TableName=app.config.ledger_table, Key=key)["Item"]["status"]["S"] == "COMPLETED"
    # And its settings: a trigger emoji one workspace chose does nothing in the other.
    store = SettingsStore(app.config.settings_table, None, cache_s=0, endpoint_url=app.config.dynamodb_endpoint_url)
    store.save(first, None, Override(trigger_emojis=("warning",)), "UADMIN")
    assert store.load(second).workspace == Override()
    time.sleep(1.1)  # the bot's cache of the first workspace's settings (settings_cache_s) has run out
    later_1 = app.standin.post_user_message(channel_1, "you are an idiot")
    later_2 = app.standin.post_user_message(channel_2, "you are an idiot")
    app.standin.react(channel_2, later_2, "warning")
    app.standin.react(channel_1, later_1, "warning")
    assert len(app.standin.wait_for_replies(channel_1, later_1)) == 1
    assert app.standin.replies_to(channel_2, later_2) == []


def test_uninstall_deletes_the_installation_and_the_settings(oauth_app: App) -> None:
    app = oauth_app
    team = "TGONE" + uuid.uuid4().hex[:4].upper()
    channel = installed(app, team)
    store = SettingsStore(app.config.settings_table, None, cache_s=0, endpoint_url=app.config.dynamodb_endpoint_url)
    store.save(team, None, Override(explain=False), "UADMIN")
    assert any(team in key for key in stored_objects(app))
    assert [d.status for d in app.standin.uninstall(team)] == [200]
    assert not any(team in key for key in stored_objects(app))
    assert store.load(team).workspace == Override()
    ts = app.standin.post_user_message(channel, "you are a complete idiot")
    app.standin.react(channel, ts, "triangular_flag_on_post")
    time.sleep(1.0)
    assert app.standin.replies_to(channel, ts) == []  # no token for it any more


def test_a_redirect_without_the_install_pages_state_is_refused(oauth_app: App) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{oauth_app.url}/slack/oauth_redirect?code=stolen&state=forged", timeout=10)
    assert error.value.code == 400
    assert [m for m, _ in oauth_app.standin.workspace.api_calls_by_team if m == "oauth.v2.access"] == []


def test_events_to_an_oauth_app_still_need_slacks_signature(oauth_app: App) -> None:
    app = oauth_app
    channel = installed(app, "TSIGNED" + uuid.uuid4().hex[:4].upper())
    ts = app.standin.post_user_message(channel, "you are a complete idiot")
    body, headers = app.standin.signed_request(app.standin.reaction_event(channel, ts, "triangular_flag_on_post"))
    status, answer = post_as_slack(app.standin, body, forged(headers, body))
    assert status == 401 and json.loads(answer)["error"] == "invalid signature"


def get_event(path: str, query: str = "") -> dict:
    """A browser's GET as a Lambda Function URL hands it over: no Slack signature."""
    return {"version": "2.0", "rawPath": path, "rawQueryString": query, "headers": {"accept": "text/html"},
            "queryStringParameters": dict(pair.split("=", 1) for pair in query.split("&")) if query else None,
            "requestContext": {"http": {"method": "GET", "path": path}}, "isBase64Encoded": False}


def test_on_lambda_the_install_page_is_served_and_other_gets_are_not(oauth_app: App, moto_url) -> None:
    from handlers.slack.aws_lambda import create_lambda_handler
    from tests.integration.conftest import LambdaContext

    credentials = SlackCredentials("", uuid.uuid4().hex, "1234.5678", uuid.uuid4().hex)
    handler = create_lambda_handler(oauth_app.config, credentials, lambda_client=object())
    page = handler(get_event("/slack/install"), LambdaContext())
    assert page["statusCode"] == 200 and "Add to Slack" in page["body"]
    refused = handler(get_event("/slack/oauth_redirect", "code=stolen&state=forged"), LambdaContext())
    assert refused["statusCode"] == 400
    single = create_lambda_handler(replace(oauth_app.config, installation_bucket=""),
                                   SlackCredentials("xoxb-1", uuid.uuid4().hex), lambda_client=object())
    assert single(get_event("/slack/install"), LambdaContext())["statusCode"] == 404
