"""The Phase 80 document's names, where the document puts them.

`peak_trade.execution.live_session` (LiveSessionConfig, LiveSessionRunner, LiveSessionMetrics)
and `peak_trade.execution.pipeline` (ExecutionPipeline, ...) are kept importable for users of
the original. The code lives in packages cut by concern: `engine` (the per-bar engine and the
pipeline), `compiled` (the batch loop), `journal`, `session`, `backtest` and `report`.
"""
