"""Hooks: which handlers apply to an event, running them, and what their answers add up to.

``runner`` runs command hooks from settings and in-process callbacks; ``matchers`` decides which
handlers apply; ``process`` runs one hook command to completion; ``output`` reads what a handler
said and folds the answers for one event. Nothing is re-exported here.
"""
