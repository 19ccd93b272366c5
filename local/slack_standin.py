"""A local stand-in for Slack, speaking the real protocols on localhost.

- Web API (`WebClient(base_url=standin.api_url)`): auth.test, conversations.history,
  conversations.replies, chat.postMessage, chat.postEphemeral, chat.update; bearer-token checked; a
  429 with Retry-After can be scheduled to test the bot's back-off.
- Events API: `react()` sends a signed `reaction_added` event_callback to the bot's request URL
  and, like Slack, redelivers it (X-Slack-Retry-Num 1..3, X-Slack-Retry-Reason) when the bot does
  not answer 2xx within 3 s.
- Shortcuts: `shortcut()` sends a signed `message_action` payload, as Slack does when a person picks
  a message shortcut in a message's "More actions" menu (it carries the message; never redelivered).
- Interactivity: `click()` sends a signed `block_actions` payload (a form with `payload=<json>`) for a
  button of a bot post, as Slack does when a person clicks it (never redelivered); the bot may
  answer through the payload's `response_url`, recorded in `workspace.responses`.
- Every bot post is recorded, for tests and the demo to read.
- A small page at `/` lists the channel and lets a person post messages and add reactions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from handlers.httpd import ConnectionLimits, HardenedHTTPServer, QuietHandler

BOT_USER_ID = "UDECORUMBOT"
BOT_ID = "BDECORUM"
TEAM_ID = "TLOCAL"
ACK_TIMEOUT_S = 3.0
REPO = Path(__file__).resolve().parent.parent


def _manifest_shortcut() -> str:
    """The message shortcut's callback id, as the Slack app manifest declares it (what Slack would send)."""
    import yaml

    manifest = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())
    return next(s["callback_id"] for s in manifest["features"]["shortcuts"] if s["type"] == "message")


MANIFEST_SHORTCUT = _manifest_shortcut()


def sign(signing_secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One HTTP delivery of an event to the bot."""

    event_id: str
    retry_num: int
    status: int | None  # None: no answer within the ack timeout
    ack_ms: float
    body: str = ""  # the bot's answer (a modal submission's errors come back in it)


@dataclass
class Workspace:
    messages: dict[str, list[dict]] = field(default_factory=dict)  # channel -> messages, oldest first
    bot_posts: list[dict] = field(default_factory=list)
    ephemeral_posts: list[dict] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)
    api_calls_by_team: list[tuple[str, str | None]] = field(default_factory=list)  # (method, the token's workspace)
    responses: list[dict] = field(default_factory=list)  # what the bot sent to response_urls
    bot_absent: set[str] = field(default_factory=set)  # channels the bot is not a member of
    channel_team: dict[str, str] = field(default_factory=dict)  # channel -> its workspace
    admins: set[str] = field(default_factory=lambda: {"UADMIN"})  # users.info says is_admin for these
    home_views: dict[str, dict] = field(default_factory=dict)  # user -> the Home tab the bot published
    modals: list[dict] = field(default_factory=list)  # views the bot opened, with their trigger ids


class SlackStandIn:
    def __init__(self, bot_token: str, signing_secret: str, host: str = "127.0.0.1", port: int = 0,
                 team_id: str = TEAM_ID, client_id: str = "", client_secret: str = ""):
        self.bot_token, self.signing_secret, self.team_id = bot_token, signing_secret, team_id
        self.client_id, self.client_secret = client_id, client_secret  # the app's, for OAuth installs
        self.tokens: dict[str, str] = {bot_token: team_id} if bot_token else {}  # bot token -> its workspace
        self._codes: dict[str, str] = {}  # OAuth codes handed out -> the workspace installing
        self._caller: str = team_id  # the workspace of the Web API call being answered
        self._granted_scopes = ""
        self.workspace = Workspace()
        self.request_url: str | None = None
        self.retry_delays_s = (0.0, 0.5, 1.0)  # Slack waits ~0 s, 1 min, 5 min; shortened locally
        self._lock = threading.Lock()
        self._clock = itertools.count(1)
        self._rate_limited_calls, self._retry_after_s, self._rate_limited_method = 0, 1, None
        self._failing: dict[str, int] = {}
        self._server = _StandInServer((host, port), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------------ workspace

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    def post_user_message(self, channel: str, text: str, user: str = "UALICE", thread_ts: str | None = None,
                          **extra) -> str:
        with self._lock:
            ts = self._next_ts()
            message = {"type": "message", "user": user, "text": text, "ts": ts, **extra}
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.workspace.messages.setdefault(channel, []).append(message)
            self.workspace.channel_team.setdefault(channel, self.team_id)
            return ts

    def add_channel(self, channel: str, team: str) -> None:
        """A channel of workspace `team` (one stand-in can hold several workspaces that installed the app)."""
        with self._lock:
            self.workspace.messages.setdefault(channel, [])
            self.workspace.channel_team[channel] = team

    def team_of(self, channel: str) -> str:
        return self.workspace.channel_team.get(channel, self.team_id)

    def delete_message(self, channel: str, ts: str) -> None:
        with self._lock:
            self.workspace.messages[channel] = [m for m in self.workspace.messages.get(channel, []) if m["ts"] != ts]

    def replies_to(self, channel: str, ts: str) -> list[dict]:
        """The bot's posts in reply to message `ts` (read from the reply metadata)."""
        with self._lock:
            return [p for p in self.workspace.bot_posts if p["channel"] == channel
                    and (p.get("metadata") or {}).get("event_payload", {}).get("message_ts") == ts]

    def fail_next(self, method: str, calls: int = 1) -> None:
        """The next `calls` calls of `method` answer HTTP 500 (Slack having a bad moment)."""
        with self._lock:
            self._failing[method] = calls

    def rate_limit_next(self, calls: int, retry_after_s: int = 1, method: str | None = None) -> None:
        """The next `calls` Web API calls (of `method` only, when given) answer 429 with Retry-After."""
        with self._lock:
            self._rate_limited_calls, self._retry_after_s, self._rate_limited_method = calls, retry_after_s, method

    # ------------------------------------------------------------------------------ events API

    def envelope(self, team: str, event: dict, event_id: str | None = None) -> dict:
        """An Events API `event_callback` of workspace `team` around `event` (stamped with the time)."""
        now = time.time()
        return {"token": "legacy-verification-token", "team_id": team, "api_app_id": "ADECORUM",
                "type": "event_callback", "event_id": event_id or f"Ev{next(self._clock):010d}",
                "event_time": int(now), "event": {**event, "event_ts": f"{now:.6f}"}}

    def reaction_event(self, channel: str, ts: str, emoji: str, user: str = "UBOB", item_type: str = "message",
                       event_id: str | None = None) -> dict:
        item = ({"type": item_type, "channel": channel, "ts": ts} if item_type == "message"
                else {"type": item_type, "file": "F123"})
        return self.envelope(self.team_of(channel), {"type": "reaction_added", "user": user, "reaction": emoji,
                                                     "item_user": "UALICE", "item": item}, event_id)

    def signed_request(self, envelope: dict, retry_num: int = 0, timestamp: int | None = None,
                       signature: str | None = None) -> tuple[str, dict[str, str]]:
        """The body and headers Slack sends for `envelope` (a forged signature or old timestamp on request)."""
        body = json.dumps(envelope)
        timestamp_s = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp_s,
            "X-Slack-Signature": signature if signature is not None else sign(self.signing_secret, timestamp_s, body),
        }
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return body, headers

    def deliver(self, envelope: dict, retry_num: int = 0, timestamp: int | None = None,
                signature: str | None = None, timeout_s: float = ACK_TIMEOUT_S) -> Delivery:
        """One signed HTTP delivery (what Slack sends), returning the status or None on timeout."""
        body, headers = self.signed_request(envelope, retry_num, timestamp, signature)
        return self._post(body, headers, envelope["event_id"], retry_num, timeout_s)

    def _post(self, body: str, headers: dict[str, str], delivery_id: str, retry_num: int,
              timeout_s: float = ACK_TIMEOUT_S) -> Delivery:
        if not self.request_url:
            raise RuntimeError("no request URL: set standin.request_url to the bot's /slack/events")
        request = urllib.request.Request(self.request_url, data=body.encode(), headers=headers, method="POST")
        started, answer = time.perf_counter(), b""
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                status: int | None = response.status
                answer = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (TimeoutError, urllib.error.URLError):
            status = None
        delivery = Delivery(delivery_id, retry_num, status, (time.perf_counter() - started) * 1e3,
                            answer.decode("utf-8", "replace"))
        with self._lock:
            self.workspace.deliveries.append(delivery)
        return delivery

    def send_event(self, envelope: dict) -> list[Delivery]:
        """Delivers like Slack: the first try, then up to 3 redeliveries while not acked with a 2xx."""
        attempts = [self.deliver(envelope)]
        for retry_num, delay in enumerate(self.retry_delays_s, start=1):
            if attempts[-1].status is not None and 200 <= attempts[-1].status < 300:
                break
            time.sleep(delay)
            attempts.append(self.deliver(envelope, retry_num=retry_num))
        return attempts

    def react(self, channel: str, ts: str, emoji: str, user: str = "UBOB") -> list[Delivery]:
        return self.send_event(self.reaction_event(channel, ts, emoji, user))

    # ------------------------------------------------------------------------------ interactivity

    def interaction_payload(self, post: dict, action_id: str, user: str = "UBOB") -> dict:
        """The `block_actions` payload Slack sends when `user` clicks button `action_id` of bot post
        `post` (a public post from `bot_posts`, or an ephemeral one from `ephemeral_posts`)."""
        (button,) = [element for block in post.get("blocks") or [] if block.get("type") == "actions"
                     for element in block["elements"] if element.get("action_id") == action_id]
        ephemeral = "user" in post and post.get("user") != BOT_USER_ID  # ephemeral posts name their viewer
        with self._lock:
            click_id = next(self._clock)
        return {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": self.team_of(post["channel"])},
            "api_app_id": "ADECORUM",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": post["ts"], "channel_id": post["channel"],
                          "is_ephemeral": ephemeral},
            "trigger_id": f"{click_id}.{uuid.uuid4().hex}",
            "team": {"id": self.team_of(post["channel"]), "domain": "local"},
            "channel": {"id": post["channel"], "name": post["channel"].lower()},
            **({} if ephemeral else {"message": {k: v for k, v in post.items() if k not in ("channel", "posted_at")}}),
            "response_url": f"{self.base_url}/response/{click_id}",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "actions",
                         "text": button["text"], "value": button.get("value", ""), "action_ts": f"{time.time():.6f}"}],
        }

    def shortcut_payload(self, channel: str, ts: str, callback_id: str, user: str = "UBOB") -> dict:
        with self._lock:
            message = next((dict(m) for m in self.workspace.messages.get(channel, []) if m["ts"] == ts), None)
            click_id = next(self._clock)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return {
            "type": "message_action", "token": "legacy-verification-token", "action_ts": f"{time.time():.6f}",
            "team": {"id": self.team_of(channel), "domain": "local"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_of(channel)},
            "channel": {"id": channel, "name": channel.lower()}, "is_enterprise_install": False,
            "callback_id": callback_id, "trigger_id": f"{click_id}.{uuid.uuid4().hex}",
            "response_url": f"{self.base_url}/response/{click_id}", "message_ts": ts,
            "message": {k: v for k, v in message.items() if k != "metadata"},
        }

    def shortcut(self, channel: str, ts: str, callback_id: str, user: str = "UBOB") -> Delivery:
        return self.deliver_interaction(self.shortcut_payload(channel, ts, callback_id, user))

    # ------------------------------------------------------------------------------ App Home

    def app_home_opened(self, user: str) -> list[Delivery]:
        return self.send_event(self.envelope(self.team_id, {"type": "app_home_opened", "user": user,
                                                            "channel": f"D{user}", "tab": "home"}))

    def click_home(self, user: str, action_id: str, value: str | None = None) -> Delivery:
        """`user` clicks button `action_id` (with `value`, when several share the id) of their Home tab."""
        with self._lock:
            view = self.workspace.home_views[user]
            click_id = next(self._clock)
        (button,) = [e for b in view["blocks"] if b.get("type") == "actions" for e in b["elements"]
                     if e["action_id"] == action_id and (value is None or e.get("value") == value)]
        return self.deliver_interaction({
            "type": "block_actions", "user": {"id": user, "team_id": self.team_id}, "api_app_id": "ADECORUM",
            "token": "legacy-verification-token", "container": {"type": "view", "view_id": f"V{user}"},
            "trigger_id": f"{click_id}.{uuid.uuid4().hex}", "team": {"id": self.team_id, "domain": "local"},
            "view": {**view, "id": f"V{user}"},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "home", "value": button.get("value", ""),
                         "text": button["text"], "action_ts": f"{time.time():.6f}"}],
        })

    def submit_modal(self, user: str, view: dict, values: dict[str, dict]) -> Delivery:
        """`user` submits modal `view` (one the bot opened) with input `values` ({block_id: {action_id: state}})."""
        with self._lock:
            click_id = next(self._clock)
        return self.deliver_interaction({
            "type": "view_submission", "team": {"id": self.team_id, "domain": "local"},
            "user": {"id": user, "team_id": self.team_id}, "api_app_id": "ADECORUM",
            "token": "legacy-verification-token", "trigger_id": f"{click_id}.{uuid.uuid4().hex}",
            "view": {**view, "id": f"VM{click_id}", "state": {"values": values}},
        })

    def signed_interaction(self, payload: dict, timestamp: int | None = None,
                           signature: str | None = None) -> tuple[str, dict[str, str]]:
        body = urlencode({"payload": json.dumps(payload)})
        timestamp_s = str(int(time.time()) if timestamp is None else timestamp)
        return body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp_s,
            "X-Slack-Signature": signature if signature is not None else sign(self.signing_secret, timestamp_s, body),
        }

    def deliver_interaction(self, payload: dict, signature: str | None = None) -> Delivery:
        body, headers = self.signed_interaction(payload, signature=signature)
        return self._post(body, headers, payload["trigger_id"], 0)

    def click(self, post: dict, action_id: str, user: str = "UBOB") -> Delivery:
        return self.deliver_interaction(self.interaction_payload(post, action_id, user))

    def bot_post(self, channel: str, ts: str) -> dict:
        """A bot post as it is now (after any chat.update)."""
        with self._lock:
            return next(dict(p) for p in self.workspace.bot_posts if p["channel"] == channel and p["ts"] == ts)

    def wait_for_replies(self, channel: str, ts: str, count: int = 1, timeout_s: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.replies_to(channel, ts)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        return self.replies_to(channel, ts)

    # ------------------------------------------------------------------------------ web API

    def api(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        """Returns (status, body, headers) for one Web API call."""
        with self._lock:
            self.workspace.api_calls.append(method)
            if self._rate_limited_calls > 0 and self._rate_limited_method in (None, method):
                self._rate_limited_calls -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self._retry_after_s)}
            if self._failing.get(method, 0) > 0:
                self._failing[method] -= 1
                return 500, {"ok": False, "error": "internal_error"}, {}
        if method == "oauth.v2.access":
            with self._lock:
                return 200, self._oauth_v2_access(args), {}
        with self._lock:
            team = self.tokens.get(token or "")
            self.workspace.api_calls_by_team.append((method, team))
        if team is None:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self._lock:
            self._caller = team
            return 200, handler(args), {}

    def _api_auth_test(self, args: dict) -> dict:
        return {"ok": True, "url": self.base_url, "team": self._caller, "user": "decorum", "team_id": self._caller,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    def _channel(self, args: dict) -> list[dict] | None:
        """A channel of the calling workspace (another workspace's is not found, as in Slack)."""
        channel = str(args.get("channel", ""))
        if self.workspace.channel_team.get(channel, self.team_id) != self._caller:
            return None
        return self.workspace.messages.get(channel)

    # ------------------------------------------------------------------------------ OAuth

    def _oauth_v2_access(self, args: dict) -> dict:
        if (args.get("client_id"), args.get("client_secret")) != (self.client_id, self.client_secret) \
                or not self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        team = self._codes.pop(str(args.get("code", "")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{team}-{uuid.uuid4().hex}"
        self.tokens[token] = team
        return {"ok": True, "app_id": "ADECORUM", "authed_user": {"id": "UINSTALLER"}, "token_type": "bot",
                "scope": self._granted_scopes, "access_token": token, "bot_user_id": BOT_USER_ID,
                "team": {"id": team, "name": team.lower()}, "enterprise": None, "is_enterprise_install": False}

    def install(self, team: str, bot_url: str) -> tuple[int, str]:
        """A person of workspace `team` installs the app as a browser would: the bot's install page, Slack's
        consent (the authorize URL's state and scopes), then the redirect back with a code."""
        with urllib.request.urlopen(f"{bot_url}/slack/install", timeout=10) as response:
            page = response.read().decode()
            # The state cookie is Secure; browsers send it back to http://localhost all the same.
            cookies = "; ".join(c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or [])
        authorize = html.unescape(page[page.index("https://slack.com/oauth/v2/authorize"):].split('"')[0])
        query = parse_qs(urlparse(authorize).query)
        if query.get("client_id") != [self.client_id]:
            return 400, "the install page names another client id"
        code = uuid.uuid4().hex
        with self._lock:
            self._codes[code] = team
            self._granted_scopes = query.get("scope", [""])[0]
        redirect = urllib.request.Request(
            f"{bot_url}/slack/oauth_redirect?{urlencode({'code': code, 'state': query['state'][0]})}",
            headers={"Cookie": cookies})
        try:
            with urllib.request.urlopen(redirect, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def uninstall(self, team: str) -> list[Delivery]:
        """The workspace removes the app: its tokens stop working and Slack sends `app_uninstalled`."""
        with self._lock:
            self.tokens = {token: t for token, t in self.tokens.items() if t != team}
        return self.send_event(self.envelope(team, {"type": "app_uninstalled"}))

    def _api_conversations_history(self, args: dict) -> dict:
        messages = self._channel(args)
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        latest = float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        top = [m for m in messages if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
        top = [m for m in top if float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest)]
        limit = int(args.get("limit") or 100)
        return {"ok": True, "messages": list(reversed(top))[:limit], "has_more": False}

    def _api_conversations_replies(self, args: dict) -> dict:
        messages = self._channel(args)
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts", ""))
        target = next((m for m in messages if m["ts"] == ts), None)
        if target is None:
            return {"ok": False, "error": "thread_not_found"}
        root = target.get("thread_ts", target["ts"])
        thread = [m for m in messages if m["ts"] == root or m.get("thread_ts") == root]
        parent, rest = thread[:1], thread[1:]
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        rest = [m for m in rest if oldest <= float(m["ts"]) <= latest]
        limit = int(args.get("limit") or 1000)
        shown = (parent + rest)[: max(limit, 1)]  # like Slack: the parent always comes first
        if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
            shown = [{k: v for k, v in m.items() if k != "metadata"} for m in shown]
        return {"ok": True, "messages": shown, "has_more": False}

    def _api_chat_postMessage(self, args: dict) -> dict:  # noqa: N802 - Slack's method name
        messages = self._channel(args)
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts, "text": args.get("text", ""),
                   "blocks": _json_arg(args.get("blocks")) or [], "metadata": _json_arg(args.get("metadata"))}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        messages.append(message)
        self.workspace.bot_posts.append({**message, "channel": args["channel"], "posted_at": time.time()})
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _api_users_info(self, args: dict) -> dict:
        user = str(args.get("user", ""))
        if not user:
            return {"ok": False, "error": "user_not_found"}
        admin = user in self.workspace.admins
        return {"ok": True, "user": {"id": user, "team_id": self.team_id, "name": user.lower(), "is_admin": admin,
                                     "is_owner": False, "is_primary_owner": False, "is_bot": False}}

    def _api_views_publish(self, args: dict) -> dict:
        view = _json_arg(args.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home" or not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        self.workspace.home_views[str(args["user_id"])] = view
        return {"ok": True, "view": {**view, "id": f"V{args['user_id']}"}}

    def _api_views_open(self, args: dict) -> dict:
        view = _json_arg(args.get("view"))
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        self.workspace.modals.append({"trigger_id": args["trigger_id"], "view": view})
        return {"ok": True, "view": {**view, "id": f"VM{len(self.workspace.modals)}"}}

    def _api_chat_update(self, args: dict) -> dict:
        messages = self._channel(args)
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts", ""))
        targets = [m for m in (*messages, *self.workspace.bot_posts)
                   if m["ts"] == ts and m.get("channel", args["channel"]) == args["channel"]]
        if not targets:
            return {"ok": False, "error": "message_not_found"}
        if targets[0].get("user") != BOT_USER_ID:
            return {"ok": False, "error": "cant_update_message"}
        for message in targets:
            message["text"] = args.get("text", message["text"])
            if args.get("blocks"):
                message["blocks"] = _json_arg(args["blocks"])
        return {"ok": True, "channel": args["channel"], "ts": ts, "text": targets[0]["text"]}

    def _api_chat_postEphemeral(self, args: dict) -> dict:  # noqa: N802
        if self._channel(args) is None:
            return {"ok": False, "error": "channel_not_found"}
        if args["channel"] in self.workspace.bot_absent:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        self.workspace.ephemeral_posts.append({**args, "blocks": _json_arg(args.get("blocks")), "ts": ts,
                                               "posted_at": time.time()})  # `user`: who sees it
        return {"ok": True, "message_ts": ts}


class _StandInServer(HardenedHTTPServer):
    def __init__(self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler]):
        # The bot's storms open hundreds of connections at once: room for all of them.
        super().__init__(address, handler_class, ConnectionLimits(max_body_bytes=10_000_000, max_connections=1024))


def _json_arg(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _buttons(channel: str, message: dict) -> str:
    forms = []
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            forms.append(f'<form method="post" action="/ui/click" style="display:inline">'
                         f'<input type="hidden" name="channel" value="{html.escape(channel)}">'
                         f'<input type="hidden" name="ts" value="{message["ts"]}">'
                         f'<input type="hidden" name="action_id" value="{html.escape(element["action_id"])}">'
                         f'<button>{html.escape(element["text"]["text"])}</button></form>')
    return " ".join(forms)


def _blocks_text(message: dict) -> str:
    parts = [block["text"]["text"] for block in message.get("blocks") or [] if block.get("type") == "section"]
    parts += [" ".join(e.get("text", "") for e in block["elements"]) for block in message.get("blocks") or []
              if block.get("type") == "context"]
    shown = "<br>".join(html.escape(part).replace("\n", "<br>") for part in parts)
    return shown or html.escape(message.get("text", ""))


def _render_page(standin: SlackStandIn) -> str:
    rows = []
    with standin._lock:
        for channel, messages in standin.workspace.messages.items():
            for m in messages:
                bot = m.get("user") == BOT_USER_ID
                who = "decorum (bot)" if bot else m.get("user", "?")
                indent = "&nbsp;&nbsp;&nbsp;&nbsp;↳ " if m.get("thread_ts") and m.get("thread_ts") != m["ts"] else ""
                action = _buttons(channel, m) if bot else (
                    f'<form method="post" action="/ui/react" style="display:inline">'
                    f'<input type="hidden" name="channel" value="{html.escape(channel)}">'
                    f'<input type="hidden" name="ts" value="{m["ts"]}">'
                    f'<input name="emoji" value="triangular_flag_on_post" size="22"><button>react</button></form> '
                    f'<form method="post" action="/ui/shortcut" style="display:inline">'
                    f'<input type="hidden" name="channel" value="{html.escape(channel)}">'
                    f'<input type="hidden" name="ts" value="{m["ts"]}"><button>Check with Decorum</button></form>')
                text = _blocks_text(m) if bot else html.escape(m.get("text", ""))[:500]
                rows.append(f"<li>{indent}<b>#{html.escape(channel)}</b> {html.escape(who)}: {text} {action}</li>")
        private = [f"<li>to {html.escape(p.get('user', '?'))} in #{html.escape(p['channel'])}: {_blocks_text(p)}</li>"
                   for p in standin.workspace.ephemeral_posts]
    return ("<!doctype html><meta charset=utf-8><title>Decorum local Slack</title>"
            "<h1>Decorum local Slack stand-in</h1><form method=post action=/ui/post>"
            "<input name=channel value=general size=10> <input name=text size=60 placeholder='say something'>"
            "<button>post</button></form><ul>" + "".join(rows) + "</ul>"
            + ("<h2>Only visible to one person (ephemeral)</h2><ul>" + "".join(private) + "</ul>" if private else "")
            + "<h2>App Home</h2><p>Open it as <a href='/ui/home?user=UADMIN'>UADMIN (a workspace admin)</a> or "
            "<a href='/ui/home?user=UBOB'>UBOB (a member)</a>.</p>")


def _render_home(standin: SlackStandIn, user: str) -> str:
    """The Home tab the bot published for `user`, its buttons, and the modal a button opened."""
    with standin._lock:
        view = standin.workspace.home_views.get(user)
        modal = standin.workspace.modals[-1]["view"] if standin.workspace.modals else None
    if view is None:
        return "<!doctype html><meta charset=utf-8><p>No Home tab yet: <a href=''>reload</a>.</p>"
    parts = [f"<h1>Decorum in {html.escape(user)}'s App Home</h1>", _blocks_text(view)]
    for block in view["blocks"]:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            parts.append(f"<form method=post action=/ui/home_click style='display:inline'>"
                         f"<input type=hidden name=user value='{html.escape(user)}'>"
                         f"<input type=hidden name=action_id value='{html.escape(element['action_id'])}'>"
                         f"<input type=hidden name=value value='{html.escape(element.get('value', ''))}'>"
                         f"<button>{html.escape(element['text']['text'])}</button></form> ")
    if modal is not None:
        fields = []
        for block in modal["blocks"]:
            element, name = block["element"], html.escape(block["block_id"])
            label = html.escape(block["label"]["text"])
            if element["type"] == "static_select":
                options = "".join(f"<option value='{html.escape(o['value'])}'"
                                  f"{' selected' if o == element.get('initial_option') else ''}>"
                                  f"{html.escape(o['text']['text'])}</option>" for o in element["options"])
                fields.append(f"<label>{label} <select name='{name}'>{options}</select></label>")
            else:
                fields.append(f"<label>{label} <input name='{name}' "
                              f"value='{html.escape(element.get('initial_value', ''))}'></label>")
        parts.append(f"<h2>{html.escape(modal['title']['text'])}</h2><form method=post action=/ui/submit>"
                     f"<input type=hidden name=user value='{html.escape(user)}'>" + "<br>".join(fields)
                     + "<br><button>Save</button></form>")
    return "<!doctype html><meta charset=utf-8><title>App Home</title>" + "<br>".join(parts) + \
        "<p><a href='/'>back to the channel</a></p>"


def _modal_state(modal: dict, form: dict[str, str]) -> dict:
    """The `view.state.values` Slack would send for `form` (the page's fields) in `modal`."""
    state = {}
    for block in modal["blocks"]:
        element, value = block["element"], form.get(block["block_id"], "")
        if element["type"] == "static_select":
            state[block["block_id"]] = {element["action_id"]: {"type": "static_select",
                                                               "selected_option": {"value": value}}}
        elif element["type"] == "conversations_select":
            state[block["block_id"]] = {element["action_id"]: {"type": "conversations_select",
                                                               "selected_conversation": value or None}}
        else:
            state[block["block_id"]] = {element["action_id"]: {"type": "plain_text_input", "value": value or None}}
    return state


def _make_handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):

        def _args(self) -> dict:
            parsed = urlparse(self.path)
            args = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    args.update(json.loads(raw))
                else:
                    args.update({k: v[0] for k, v in parse_qs(raw).items()})
            return args

        def do_GET(self) -> None:
            if self.path.startswith("/api/"):
                return self._api()
            if self.path == "/":
                return self.send(200, _render_page(standin).encode(), "text/html; charset=utf-8")
            if self.path.startswith("/ui/home"):
                user = self._args().get("user", "UBOB")
                if user not in standin.workspace.home_views:
                    standin.app_home_opened(user)
                return self.send(200, _render_home(standin, user).encode(), "text/html; charset=utf-8")
            self.send(404, b"", "text/plain")

        def do_POST(self) -> None:
            if self.path.startswith("/api/"):
                return self._api()
            if self.path.startswith("/response/"):  # a response_url: JSON like chat.postMessage's
                length = int(self.headers.get("Content-Length") or 0)
                message = json.loads(self.rfile.read(length) or b"{}")
                with standin._lock:
                    standin.workspace.responses.append({**message, "response_url": self.path})
                return self.send(200, b"ok", "text/plain")
            args = self._args()
            if self.path == "/ui/post" and args.get("text"):
                standin.post_user_message(args.get("channel", "general"), args["text"])
            elif self.path == "/ui/react":
                threading.Thread(target=standin.react, args=(args["channel"], args["ts"], args.get("emoji", "")),
                                 daemon=True).start()
            elif self.path == "/ui/click":
                post = standin.bot_post(args["channel"], args["ts"])
                threading.Thread(target=standin.click, args=(post, args["action_id"], "UBOB"), daemon=True).start()
            elif self.path == "/ui/shortcut":
                threading.Thread(target=standin.shortcut, args=(args["channel"], args["ts"], MANIFEST_SHORTCUT),
                                 daemon=True).start()
            elif self.path in ("/ui/home_click", "/ui/submit"):
                user = args.pop("user", "UBOB")
                if self.path == "/ui/home_click":
                    standin.click_home(user, args["action_id"], args.get("value") or None)
                elif standin.workspace.modals:
                    modal = standin.workspace.modals[-1]["view"]
                    standin.submit_modal(user, modal, _modal_state(modal, args))
                    standin.workspace.modals.clear()
                return self.send(303, b"", "text/plain", {"Location": f"/ui/home?user={user}"})
            self.send(303, b"", "text/plain", {"Location": "/"})

        def _api(self) -> None:
            method = urlparse(self.path).path[len("/api/") :]
            auth = self.headers.get("Authorization", "")
            args = self._args()
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else args.get("token")
            if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
                client_id, _, client_secret = base64.b64decode(auth[len("Basic ") :]).decode().partition(":")
                args.update(client_id=client_id, client_secret=client_secret)
            status, body, headers = standin.api(method, args, token)
            self.send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    return Handler
