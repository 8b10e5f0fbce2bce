"""The Phase 80 session names, as the document imports them; the code is in `session`."""

from peak_trade.core.errors import LiveModeNotAllowedError, SessionRuntimeError, SessionSetupError
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.runner import LiveSessionRunner

__all__ = [
    "LiveModeNotAllowedError",
    "LiveSessionConfig",
    "LiveSessionMetrics",
    "LiveSessionRunner",
    "SessionRuntimeError",
    "SessionSetupError",
]
