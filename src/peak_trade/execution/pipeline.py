"""The Phase 80 pipeline names, as the document imports them; the code is in `engine`."""

from peak_trade.engine.pipeline import ExecutionPipeline, ExecutionResult, ExecutionStatus

__all__ = ["ExecutionPipeline", "ExecutionResult", "ExecutionStatus"]
