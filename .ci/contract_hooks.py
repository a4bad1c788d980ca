"""Schemathesis hooks for .ci/contract.sh (loaded through SCHEMATHESIS_HOOKS).

A few rules of the API tie values together, which a JSON Schema cannot say. Schemathesis
generates "positive" (schema-valid) cases that break them, and the service rightly refuses
those with a 4xx, which the positive_data_acceptance check would report. So, for positive
cases only, and before the request is sent, these hooks bring such values within the rule:

- `cursor` is opaque: only a `pageInfo.nextCursor` the service handed out is a valid one.
  A positive case keeps a cursor only when it is one of those (recorded by `after_call`,
  and fed by the stateful phase); any other is dropped.
- `createdFrom <= createdTo` and `updatedFrom <= updatedTo` (customer list, search, a
  segment's filter), `from <= to` (audit trail, performance report): a reversed pair is
  swapped.
- The performance report covers at most 366 days (`from` defaults to 30 days before `to`,
  `to` to now): a longer period is shortened by moving `from`.

Negative cases are sent as generated, so the service must still refuse each of them.
See docs/decisions/0013-contract-fuzzing.md.
"""

from datetime import datetime, timedelta, timezone

import schemathesis

# (operation path, sort, q, cursor): a cursor is valid only for the list, order and search
# text it was made for.
ISSUED_CURSORS: set[tuple] = set()
PAIRS = (("createdFrom", "createdTo"), ("updatedFrom", "updatedTo"), ("from", "to"))
MAX_PERIOD = timedelta(days=366)


def _time(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _order(container):
    if not isinstance(container, dict):
        return
    for low, high in PAIRS:
        a, b = _time(container.get(low)), _time(container.get(high))
        if a is not None and b is not None and a > b:
            container[low], container[high] = container[high], container[low]


def _cursor_key(case, cursor):
    query = case.query if isinstance(case.query, dict) else {}
    return (case.operation.path, query.get("sort"), query.get("q"), cursor)


def _is_positive(case):
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _is_positive(case):
        return
    query = case.query if isinstance(case.query, dict) else None
    if query is not None:
        if "cursor" in query and _cursor_key(case, query["cursor"]) not in ISSUED_CURSORS:
            del query["cursor"]
        _order(query)
        if case.operation.path == "/api/stats/performance":
            to = _time(query.get("to")) or datetime.now(timezone.utc)
            start = _time(query.get("from"))
            if start is not None and (to - start > MAX_PERIOD or start > to):
                query["from"] = (to - timedelta(days=30)).isoformat()
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and case.operation.path.startswith("/api/segments"):
        _order(body.get("filter"))


@schemathesis.hook
def after_call(context, case, response):
    try:
        payload = response.json()
    except Exception:  # not JSON: nothing to learn
        return
    page = payload.get("pageInfo") if isinstance(payload, dict) else None
    cursor = page.get("nextCursor") if isinstance(page, dict) else None
    if isinstance(cursor, str):
        ISSUED_CURSORS.add(_cursor_key(case, cursor))


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # schemathesis 4.32.5 reports "Missing required property: filter" for segment bodies whose
    # schemas (CreateSegmentRequest, UpdateSegmentRequest) do not require `filter`: the
    # service is right to accept them. Only that exact report is dropped.
    message = getattr(failure, "message", "") or ""
    if (
        getattr(failure, "code", None) == "ST201"
        and case.operation.path.startswith("/api/segments")
        and "Missing required property: filter" in message
    ):
        return False
    return True
