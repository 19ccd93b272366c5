"""The serving container's settings, read from `DECORUM_*` environment variables (`handlers/settings.py`
names them): the stack sets them with `to_env`, the container reads them with `from_env`.

Standard library only, so the CDK app can import it at synth without onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.httpd import ConnectionLimits
from handlers.settings import SettingsError, env_name


@dataclass(frozen=True)
class ModelSettings:
    intra_op_threads: int = 0  # 0: one per CPU the process may use
    batch_size: int = 8  # per concurrent mini-batch; measured best of 8, 16, 32 on 2 cores
    long_text: Literal["window", "truncate"] = "window"
    max_windows: int = 256  # ~11k tokens: all of a 40,000-character Slack message
    window_tokens: int = 64
    window_overlap: int = 16  # tokens shared by neighbouring windows
    # Characters of one text that are read (a Slack message has at most 40,000); beyond, text is cut.
    max_text_chars: int = 100_000

    def __post_init__(self) -> None:
        if self.long_text not in ("window", "truncate"):
            raise SettingsError(f"{env_name('long_text')} must be 'window' or 'truncate'")
        if self.batch_size < 1 or self.max_windows < 1 or self.intra_op_threads < 0 or self.max_text_chars < 1:
            raise SettingsError(f"{env_name('batch_size')} and {env_name('max_windows')} must be >= 1, "
                                f"{env_name('intra_op_threads')} >= 0")
        if not 0 <= self.window_overlap < self.window_tokens - 2:
            raise SettingsError(f"{env_name('window_overlap')} must be in [0, {env_name('window_tokens')} - 2)")


@dataclass(frozen=True)
class Limits(ConnectionLimits):
    """What one client may ask of the server: connections, time and bytes (`ConnectionLimits`), inputs
    per request, and work per request. The work bound counts the model's input sequences (a text
    over 128 tokens is split into 64-token windows): a request needing more is refused with 413
    before the model runs. One Slack message never needs more than `ModelSettings.max_windows`."""

    max_inputs: int = 256
    max_windows_per_request: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_inputs < 1 or self.max_windows_per_request < 1:
            raise SettingsError(f"{env_name('max_inputs')} and {env_name('max_windows_per_request')} must be >= 1")
