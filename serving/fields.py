"""Field types of what the service and the outcome import take in, from the contract's bounds:
an id, a short code, JSON numbers and flags taken as JSON writes them, the check that a time
has already happened; and the strict model they share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from data.contract import EARLIEST_TIME, MAX_ID_LENGTH

CLOCK_SKEW = timedelta(seconds=300)
MAX_TEXT_LENGTH = 64  # channels, reasons, segments, regions: short codes, not prose
EARLIEST = EARLIEST_TIME.to_pydatetime()


def time_problem(value: datetime | None) -> str | None:
    """Why a posted time cannot be a time that has already happened, if it cannot (a few
    minutes of clock skew allowed). Checked per item, not by the request schema: a time in
    the future is well-formed, and one bad item must not refuse the others."""
    if value is None:
        return None
    if value > datetime.now(UTC) + CLOCK_SKEW:
        return "timestamp is in the future"
    if value < EARLIEST:
        return f"timestamp is before {EARLIEST.date()}"
    return None


def item_time_problems(item: BaseModel) -> list[str]:
    """``column: problem`` for each time of a posted item that cannot have happened yet."""
    out = []
    for name, value in item:
        problem = time_problem(value) if isinstance(value, datetime) else None
        if problem is not None:
            out.append(f"{name}: {problem}")
    return out


def _json_time(value: object) -> object:
    if not isinstance(value, str | datetime):  # a number is no time (epoch units are a guess)
        raise ValueError("Input should be a date-time string with its zone")
    return value


def _json_day(value: object) -> object:
    if not isinstance(value, str | date) or isinstance(value, datetime):
        raise ValueError("Input should be a date string (YYYY-MM-DD)")
    return value


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a number")
    return value


def _json_integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError("Input should be a whole number")
    return int(value)


# What JSON says, taken as it says it: a number is no string or true, a flag no 0 or "yes"
# (the request schema promises exactly that, so nothing it calls invalid is accepted).
Moment = Annotated[AwareDatetime, BeforeValidator(_json_time)]
Day = Annotated[date, BeforeValidator(_json_day)]
Number = Annotated[float, BeforeValidator(_json_number)]
Integer = Annotated[int, BeforeValidator(_json_integer)]


def bounded(kind: object, **bounds: float) -> object:
    """``Number`` or ``Integer`` with ``ge``/``le`` bounds on the value itself (so the schema
    says minimum and maximum, beside null where the field is optional)."""
    base, check = (float, _json_number) if kind is Number else (int, _json_integer)
    return Annotated[base, Field(**bounds), BeforeValidator(check)]


Flag = StrictBool
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]


class Strict(BaseModel):
    """Posted items are customer data: error messages name the field, never echo the value.
    Infinity and NaN are not measurements (JSON has neither; Python's parser accepts both)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, allow_inf_nan=False)
