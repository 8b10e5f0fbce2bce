"""Safety layers: the SafetyGuard and the pre-trade LiveRiskLimits."""
