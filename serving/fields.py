"""Field types of what the service and the outcome import take in, from the contract's bounds:
an id, a short code, a time that has already happened; and the strict model they share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from data.contract import EARLIEST_TIME, MAX_ID_LENGTH

CLOCK_SKEW = timedelta(seconds=300)
MAX_TEXT_LENGTH = 64  # channels, reasons, segments, regions: short codes, not prose
EARLIEST = EARLIEST_TIME.to_pydatetime()


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("timestamp is in the future")
    if value < EARLIEST:
        raise ValueError(f"timestamp is before {EARLIEST.date()}")
    return value


# A timezone-aware time that has already happened (a few minutes of clock skew allowed).
KnownTime = Annotated[AwareDatetime, AfterValidator(_not_in_future)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]


class Strict(BaseModel):
    """Posted items are customer data: error messages name the field, never echo the value.
    Infinity and NaN are not measurements (JSON has neither; Python's parser accepts both)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, allow_inf_nan=False)
