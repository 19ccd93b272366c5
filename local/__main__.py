"""`python -m local demo` runs the bot end to end and checks it; `python -m local run` leaves it running."""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

from local.slack_standin import SlackStandIn
from local.stack import Ports, StackError, local_stack

TRIGGER = "triangular_flag_on_post"
CHANNEL = "general"

# (label, text, in a thread?, expected verdict: "flagged", "clean", "nothing" or None for "any")
SAMPLES = [
    ("benign", "Thanks for the review, the new dashboard looks great!", False, "clean"),
    ("offensive", "shut up you stupid idiot, nobody asked for your garbage opinion", False, "flagged"),
    ("hateful", "those people are vermin and should be driven out of our country", False, "flagged"),
    ("long", "Quarterly planning notes. " * 600 + "And frankly you are a worthless moron.", False, None),
    ("thread reply", "ok, you are a complete idiot", True, "flagged"),
    ("empty", "", False, "nothing"),
]


def _verdict_of(post: dict) -> str:
    outcome = (post.get("metadata") or {}).get("event_payload", {}).get("outcome", "")
    return {"flagged": "flagged", "clean": "clean", "nothing_to_check": "nothing"}.get(outcome, outcome)


def _show(post: dict) -> str:
    lines = []
    for block in post.get("blocks") or []:
        if block.get("type") == "section":
            lines.append(block["text"]["text"])
        elif block.get("type") == "context":
            lines.append("  " + " · ".join(e.get("text", "") for e in block["elements"]))
    return "\n".join("      │ " + line for text in lines for line in text.splitlines())


def demo(model_dir: Path, check_verdicts: bool = True) -> int:
    failures: list[str] = []
    started = time.perf_counter()
    with local_stack(model_dir) as stack:
        standin: SlackStandIn = stack.standin
        print(f"stack up in {time.perf_counter() - started:.1f} s: inference {stack.inference_url}, "
              f"slack app {stack.slack_url}, stand-in {standin.base_url}, moto {stack.moto_url}\n")
        parent = standin.post_user_message(CHANNEL, "Who broke the build this morning?")
        posted = []
        for label, text, in_thread, expected in SAMPLES:
            ts = standin.post_user_message(CHANNEL, text, thread_ts=parent if in_thread else None)
            posted.append((label, ts, text, expected))

        # The trigger on each; another emoji on the benign one; the trigger twice more on the offensive one.
        reactions = [(ts, TRIGGER) for _, ts, _, _ in posted]
        reactions += [(posted[0][1], "thumbsup"), (posted[1][1], TRIGGER), (posted[1][1], TRIGGER)]
        acks: list[float] = []
        sent_at: dict[str, float] = {}
        threads = []
        for ts, emoji in reactions:
            sent_at.setdefault(ts, time.time())

            def react(ts: str = ts, emoji: str = emoji) -> None:
                acks.extend(d.ack_ms for d in standin.react(CHANNEL, ts, emoji, user="UBOB"))
            threads.append(threading.Thread(target=react))
            threads[-1].start()
        for thread in threads:
            thread.join()

        breakdown: dict[str, list[float]] = {"claim": [], "fetch": [], "classify": [], "reaction->reply": []}
        for label, ts, text, expected in posted:
            standin.wait_for_replies(CHANNEL, ts, 1, timeout_s=15)
            time.sleep(0.05)  # a duplicate reply, if one were sent, lands now
            found = standin.replies_to(CHANNEL, ts)
            preview = (text[:60] + "…") if len(text) > 60 else text
            print(f"  [{label}] UALICE: {preview or '(no text)'}   ({len(text)} chars)")
            if len(found) != 1:
                failures.append(f"{label}: expected exactly 1 reply, got {len(found)}")
                print("      (no reply)\n" if not found else f"      ({len(found)} replies!)\n")
                continue
            post = found[0]
            print(_show(post) + "\n")
            verdict = _verdict_of(post)
            if expected and check_verdicts and verdict != expected:
                failures.append(f"{label}: expected {expected}, got {verdict}")
            breakdown["reaction->reply"].append((post["posted_at"] - sent_at[ts]) * 1e3)
            timings = post["metadata"]["event_payload"].get("timings_ms", {})
            for name in ("claim", "fetch", "classify"):
                if name in timings:
                    breakdown[name].append(timings[name])
        public_replies = len(standin.workspace.bot_posts)
        failures += _vote_and_export(stack, posted[1][1])
        failures += _shortcut(stack, posted[2][1])
        failures += _settings_change(stack)
        print("latency breakdown (ms, p50 / max over the replies above):")
        print(f"  event -> ack      {statistics.median(acks):7.2f} / {max(acks):7.2f}   ({len(acks)} deliveries)")
        for name, values in breakdown.items():
            if values:
                print(f"  {name:<16}  {statistics.median(values):7.2f} / {max(values):7.2f}")
        if public_replies != len(posted):
            failures.append(f"expected {len(posted)} bot replies to the samples, got {public_replies}")
    print(f"\nstack stopped; demo took {time.perf_counter() - started:.1f} s")
    if failures:
        print("DEMO FAILED:\n  - " + "\n  - ".join(failures), file=sys.stderr)
        return 1
    print(f"demo passed: {len(posted)} messages, exactly one reply each; other emoji and repeated reactions ignored; "
          "a vote recorded and exported, a private shortcut check, a settings change applied")
    return 0


def _vote_and_export(stack, message_ts: str) -> list[str]:
    """The reactor's private view of the words, one "Wrong" vote on that verdict, and the export of the
    votes as training rows (what `python -m model_build feedback-export` writes)."""
    import boto3

    from handlers.slack.feedback import VOTE_ACTIONS, FeedbackStore
    from local.stack import FAKE_AWS, FEEDBACK_TABLE
    from model_build.feedback_export import export

    standin: SlackStandIn = stack.standin
    (reply,) = standin.replies_to(CHANNEL, message_ts)
    private = [p for p in standin.workspace.ephemeral_posts if p.get("thread_ts") == message_ts]
    for note in private:
        print(f"  [explained, privately to {note['user']}]\n{_show(note)}\n")
    wrong = next(action for action, choice in VOTE_ACTIONS.items() if choice == "wrong")
    delivery = standin.click(reply, wrong, user="UCARA")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "said wrong" not in json.dumps(standin.bot_post(CHANNEL, reply["ts"])):
        time.sleep(0.05)
    updated = standin.bot_post(CHANNEL, reply["ts"])
    print(f"  [vote] UCARA clicked Wrong (acked {delivery.ack_ms:.1f} ms); the verdict now reads:\n{_show(updated)}\n")
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name=FAKE_AWS["AWS_REGION"],
                          aws_access_key_id="local", aws_secret_access_key="local")
    out = Path("build/feedback/data.csv")
    count = export(FeedbackStore(FEEDBACK_TABLE, client=client), out)
    print(f"  [feedback export] {count} training row(s) written to {out} (votes with kept text)\n")
    problems = [] if "said wrong" in json.dumps(updated) else ["the Wrong vote did not update the verdict"]
    return problems + ([] if count == 1 else [f"expected 1 exported feedback row, got {count}"])


def _shortcut(stack, message_ts: str) -> list[str]:
    """"Check with Decorum" from a message's menu: the verdict comes privately to the one who asked."""
    from handlers.slack.listeners import CHECK_SHORTCUT_CALLBACK_ID

    standin: SlackStandIn = stack.standin
    before = len(standin.workspace.ephemeral_posts)
    delivery = standin.shortcut(CHANNEL, message_ts, CHECK_SHORTCUT_CALLBACK_ID, user="UDAN")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [p for p in standin.workspace.ephemeral_posts[before:]
                                               if p["user"] == "UDAN"]:
        time.sleep(0.05)
    answers = [p for p in standin.workspace.ephemeral_posts[before:] if p["user"] == "UDAN"]
    print(f"  [shortcut] UDAN picked \"Check with Decorum\" (acked {delivery.ack_ms:.1f} ms); privately to UDAN:")
    for answer in answers:
        print(_show(answer) + "\n")
    return [] if len(answers) == 1 else [f"shortcut: expected 1 private answer, got {len(answers)}"]


def _settings_change(stack) -> list[str]:
    """An admin adds a trigger emoji in App Home; the next reaction with it is checked."""
    from handlers.slack.home import EDIT_WORKSPACE, EMOJIS_BLOCK, VALUE

    standin: SlackStandIn = stack.standin
    standin.app_home_opened("UADMIN")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "UADMIN" not in standin.workspace.home_views:
        time.sleep(0.05)
    standin.click_home("UADMIN", EDIT_WORKSPACE)
    modal = standin.workspace.modals[-1]["view"]
    state = {block["block_id"]: {VALUE: {"type": "static_select", "selected_option": block["element"][
        "initial_option"]} if block["element"]["type"] == "static_select" else {"type": "plain_text_input"}}
             for block in modal["blocks"]}
    state[EMOJIS_BLOCK] = {VALUE: {"type": "plain_text_input", "value": f"{TRIGGER}, rotating_light"}}
    answer = standin.submit_modal("UADMIN", modal, state)
    ts = standin.post_user_message(CHANNEL, "you absolute clown, this is the worst code I have ever seen")
    standin.react(CHANNEL, ts, "rotating_light")
    found = standin.wait_for_replies(CHANNEL, ts, 1, timeout_s=10)
    print(f"  [settings] UADMIN added :rotating_light: as a trigger in App Home (saved: {answer.status}); "
          f"a :rotating_light: reaction now gets {len(found)} reply:")
    for post in found:
        print(_show(post) + "\n")
    return [] if len(found) == 1 else [f"settings: expected 1 reply to the new trigger, got {len(found)}"]


def run(model_dir: Path, ports: Ports) -> int:
    with local_stack(model_dir, ports) as stack:
        print(f"Decorum is running locally. Open {stack.standin.base_url}/ to post messages and react "
              f"(trigger emoji: {TRIGGER}).\n  inference server: {stack.inference_url}/ping\n"
              f"  slack app: {stack.slack_url}\n  moto: {stack.moto_url}\nPress Ctrl-C to stop.", flush=True)
        try:
            while all(child.poll() is None for child in stack.children):
                time.sleep(0.5)
            print("a component stopped; shutting down", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0


def _stop(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM/SIGHUP: the same orderly shutdown as Ctrl-C (children stopped)


def main(argv: list[str] | None = None) -> int:
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop)
    parser = argparse.ArgumentParser(prog="python -m local")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("demo", "run"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--model-dir", type=Path, default=Path("build/model"))
    sub.choices["demo"].add_argument("--any-verdict", action="store_true",
                                     help="check the plumbing only, not which verdict (for toy models)")
    run_cmd = sub.choices["run"]
    run_cmd.add_argument("--standin-port", type=int, default=3100)
    run_cmd.add_argument("--slack-port", type=int, default=3000)
    run_cmd.add_argument("--inference-port", type=int, default=8080)
    run_cmd.add_argument("--moto-port", type=int, default=5005)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return demo(args.model_dir, check_verdicts=not args.any_verdict)
        return run(args.model_dir, Ports(args.moto_port, args.inference_port, args.slack_port, args.standin_port))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
