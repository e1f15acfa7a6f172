"""Schemathesis hooks for tests/test_contract_fuzz.py (loaded by the `st` process, not pytest).

Two narrow adjustments, each for a gap between a tool and this service, never a check turned off:

- REST, a schemathesis 4.32 bug: its coverage phase only generates header values of letters and
  digits, so it finds no valid value for the contract's `traceparent` pattern (which needs `-`),
  seeds the optional header with an invalid one (`traceparent: 0`, its header component marked
  negative) and still labels the whole request schema-valid; `positive_data_acceptance` then
  calls the contract's 400 for it a failure. Such a request is relabeled what it is, negative,
  so `negative_data_rejection` judges it instead.
- GraphQL: schemathesis tells a refused request from a failing resolver by Apollo's or
  graphql-java's error labels only. This service labels its errors with the contract's codes
  (`extensions.code`: validation, forbidden, notFound, unauthorized; README "Errors"). A
  "server error" failure whose every error carries one of those is a refusal of the request and
  is dropped; an unlabeled or masked error ("Unexpected error."), `internal`, or any 5xx stays a
  failure.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.graphql.checks import GraphQLServerError

CLIENT_CODES = frozenset({"validation", "forbidden", "notFound", "unauthorized"})


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE or meta.generation.mode.is_negative:
        return
    header = meta.components.get(ParameterLocation.HEADER)
    if header is not None and header.mode.is_negative:
        meta.generation.mode = GenerationMode.NEGATIVE


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if not isinstance(failure, GraphQLServerError) or response.status_code >= 500:
        return True
    refusals = [
        error
        for error in failure.errors
        if isinstance(error.get("extensions"), dict)
        and error["extensions"].get("code") in CLIENT_CODES
    ]
    return len(refusals) != len(failure.errors)  # keep the failure unless all are refusals
