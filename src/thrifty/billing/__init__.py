"""Auth sources, prices, metering, ledger, plans and budgets."""
