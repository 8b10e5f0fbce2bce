"""`python -m peak_trade.testing.kraken_emulator`: serve a loopback Kraken."""

from peak_trade.testing.kraken_emulator.cli import main

raise SystemExit(main())
