"""The data layer: the only package holding SQL text, dialect branches and library internals.

Resolvers call these functions with typed arguments and get typed results: read models (frozen
dataclasses, `views.py`) for what the transports show, and locked model rows for what a rule
changes. Split by aggregate; `sql.py` holds the statement helpers every module shares.
"""
