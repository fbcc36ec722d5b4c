"""Reading what an agent reported: only known fields, each of the expected type and range, nothing else kept.

An agent's report is input from a host, so it is checked like any other input; a field of the wrong type is
dropped (and the job goes on with what is sound) rather than trusted.
"""
from .. import names


def number(data, key, *, minimum=0, maximum=10**15):
    value = (data or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if minimum <= value <= maximum else None


def seconds(data, key):
    value = number(data, key, maximum=10**6)
    return None if value is None else round(float(value), 3)


def flag(data, key):
    value = (data or {}).get(key)
    return value if isinstance(value, bool) else None


def text(data, key, *, limit=2000):
    value = (data or {}).get(key)
    return value[:limit] if isinstance(value, str) else ""


def name(data, key, rule):
    value = (data or {}).get(key)
    return value if rule.is_valid(value) else None


def engine_id(data, key):
    return name(data, key, names.ENGINE_ID)


def counts(data, keys):
    return {k: v for k in keys if (v := number(data, k)) is not None}
