"""Importers of recorded usage and the reports built on the ledger."""
