"""Calendar dates as the chain writes them: exactly `YYYY-MM-DD`, and a real day.

Contracts compare dates as strings (a due date with the block date), which orders them only in
this one form. Python's `date.fromisoformat` also takes week dates (`2026-W01-1`) and basic forms
(`20260101`), so it is not the test of the form, only of the day. One rule for genesis and for
every contract argument (contracts/args.py).
"""

from __future__ import annotations

import re
from datetime import date

# ASCII digits only: `\d` and `int()` would take Arabic-Indic or full-width digits too; used with
# fullmatch, since `$` would also match before a trailing newline.
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def is_calendar_date(value: object) -> bool:
    """Whether `value` is a str of the form YYYY-MM-DD naming a day that exists."""
    match = _ISO_DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
