"""The whole local stack: reaction to reply, end to end."""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import MESSAGE, percentiles


def bench_stack(model_dir: Path) -> dict:
    from local.stack import local_stack

    started = time.perf_counter()
    with local_stack(model_dir) as stack:
        up_s = time.perf_counter() - started
        standin = stack.standin
        ack, reply = [], []
        for i in range(40):
            ts = standin.post_user_message("general", f"{MESSAGE} #{i}")
            sent = time.time()
            deliveries = standin.react("general", ts, "triangular_flag_on_post")
            (post,) = standin.wait_for_replies("general", ts, 1, timeout_s=10)
            ack.append(deliveries[0].ack_ms)
            reply.append((post["posted_at"] - sent) * 1e3)
    return {"stack_start_s": round(up_s, 2), "event_to_ack": percentiles(ack[5:]),
            "reaction_to_reply": percentiles(reply[5:])}
