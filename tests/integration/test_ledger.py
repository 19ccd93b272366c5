"""The reply ledger's state machine against DynamoDB (moto in server mode)."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from handlers.slack.ledger import ReplyLedger


@pytest.fixture
def ledger(moto_url: str, ledger_table: str) -> ReplyLedger:
    return ReplyLedger(ledger_table, lease_seconds=30, ttl_days=7, endpoint_url=moto_url)


def channel() -> str:
    return "C" + uuid.uuid4().hex[:8]


def test_first_claim_wins_and_completion_suppresses_everything_after(ledger: ReplyLedger) -> None:
    c = channel()
    first = ledger.claim(c, "1.1", "Ev1", now=1000)
    assert first.acquired and first.reason == "new"
    assert ledger.claim(c, "1.1", "Ev1", now=1001).reason == "in_progress"  # a concurrent redelivery
    assert ledger.complete(first, "clean", "1.2")
    assert ledger.claim(c, "1.1", "Ev1", now=1002).reason == "redelivery"
    assert ledger.claim(c, "1.1", "Ev2", now=1003).reason == "already_checked"  # another person's reaction


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_complete(ledger: ReplyLedger) -> None:
    c = channel()
    crashed = ledger.claim(c, "1.1", "Ev1", now=1000)
    assert not ledger.claim(c, "1.1", "Ev1", now=1029).acquired  # lease still live
    takeover = ledger.claim(c, "1.1", "Ev1", now=1031)
    assert takeover.acquired and takeover.reason == "takeover"
    assert takeover.previous_owner == crashed.attempt_id  # whose reply to look for
    assert not ledger.complete(crashed, "clean")  # the zombie lost its claim
    assert ledger.complete(takeover, "clean")


def test_release_lets_a_retry_in_at_once(ledger: ReplyLedger) -> None:
    c = channel()
    claim = ledger.claim(c, "1.1", "Ev1", now=1000)
    ledger.release(claim)
    assert ledger.claim(c, "1.1", "Ev1", now=1001).reason == "takeover"


def test_a_failed_check_can_be_retried_by_a_new_reaction_only(ledger: ReplyLedger) -> None:
    c = channel()
    claim = ledger.claim(c, "1.1", "Ev1", now=1000)
    ledger.complete(claim, "failed")
    assert ledger.claim(c, "1.1", "Ev1", now=1001).reason == "redelivery"
    retry = ledger.claim(c, "1.1", "Ev2", now=1002)
    assert retry.acquired and retry.reason == "retry"


def test_items_carry_a_ttl(ledger: ReplyLedger, moto_url: str, ledger_table: str) -> None:
    c = channel()
    ledger.claim(c, "1.1", "Ev1", now=1000)
    item = boto3.client("dynamodb", endpoint_url=moto_url).get_item(
        TableName=ledger_table, Key={"pk": {"S": ReplyLedger.key(c, "1.1")}})["Item"]
    assert int(item["expires_at"]["N"]) == 1000 + 7 * 86_400


def test_concurrent_claims_have_exactly_one_winner(ledger: ReplyLedger) -> None:
    """100 messages, each claimed 4 times at once (a redelivery storm): one winner per message.
    (Plain moto failed this: see local/aws.py.)"""
    c = channel()
    winners: Counter = Counter()

    def claim(i: int) -> None:
        if ledger.claim(c, f"{i // 4}.0", f"Ev{i // 4}").acquired:
            winners[i // 4] += 1

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(claim, range(400)))
    assert len(winners) == 100 and set(winners.values()) == {1}
