"""Business-time arithmetic: opening hours, holidays, and how much open time lies between two instants.

The contract, everything else follows from it: a `Calendar` is open at instant t iff the local wall-clock
time of t (in `time_zone`), on t's local date, falls in [start, end) of one of that date's intervals:
`special[date]` if the date is there, else nothing if the date is in `closed`, else `week[weekday]`.

So daylight saving time needs no rule of its own: an interval 01:00–04:00 is two real hours on the
spring-forward day and four on the fall-back day; an interval starting inside the skipped hour opens at
the first instant whose wall time is past its start (03:00 in Europe/Warsaw); on the fall-back day an
interval 02:30–03:00 is open twice, once in summer time and once in winter time. An interval ending at
1440 ends at local midnight, and it joins an interval starting at 0 the next day into one open stretch.

Every datetime taken must be aware (ValueError otherwise); every datetime returned is in UTC. Internally
instants are integer microseconds since the Unix epoch, so results are exact to the microsecond.

Speed: a day's open stretches are computed once per (calendar, local date) and kept in an LRU cache, so
`add` and `between` cost a few dictionary look-ups per day they cross; closed days cost one look-up each.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Hours = tuple[tuple[int, int], ...]
"""The opening intervals of one local day in minutes after midnight: (start, end), 0 <= start < end <= 1440,
sorted, not overlapping (touching is fine). () is a closed day."""

MINUTES_PER_DAY = 1440
# A calendar whose days are all closed for this long (plus its closed dates) is taken as never open again.
HORIZON_DAYS = 3 * 366

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_DAY = 86_400 * _US_PER_SECOND
_ONE_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MAX_ORDINAL = dt.date.max.toordinal()
# Python's datetime guarantees |utcoffset| < 24 h: every instant of a local date D lies within a day of
# D's midnight read as UTC. The day-by-day walk below relies on this bound, nothing tighter.
_OFFSET_BOUND_S = 86_400
# Time-zone transitions are found by sampling the offset this often and bisecting where it changes; two
# transitions that cancel out within this span would be missed (tzdata has none in modern times).
_SAMPLE_S = 6 * 3600


class NeverOpen(ValueError):
    """The calendar has no opening hours left, so no amount of business time can be added."""


class _FrozenHoursMap(Mapping[dt.date, Hours]):
    """A read-only, hashable date → Hours mapping, so a Calendar can be an lru_cache key."""

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Iterable[tuple[dt.date, Hours]] = ()) -> None:
        self._data: dict[dt.date, Hours] = dict(sorted(items))
        self._hash = hash(frozenset(self._data.items()))

    def __getitem__(self, key: dt.date) -> Hours:
        return self._data[key]

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _FrozenHoursMap):  # the common case, on every cache hit of an equal calendar
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self._data.items())}}}"


def _check_hours(hours: Any, where: str) -> Hours:
    """`hours` as a tuple of (start, end) int pairs, or ValueError saying what is wrong and where."""
    try:
        pairs = [tuple(pair) for pair in hours]
    except TypeError:
        raise ValueError(
            f"{where}: hours must be a sequence of (start, end) minute pairs, got {hours!r}"
        ) from None
    checked: list[tuple[int, int]] = []
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(m, int) and not isinstance(m, bool) for m in pair):
            raise ValueError(f"{where}: {pair!r} is not a (start, end) pair of whole minutes")
        start, end = pair
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(
                f"{where}: interval {_hhmm(start)}–{_hhmm(end)} ({start}, {end}) must have "
                f"0 <= start < end <= {MINUTES_PER_DAY} minutes"
            )
        if checked and start < checked[-1][1]:
            before = checked[-1]
            raise ValueError(
                f"{where}: interval {_hhmm(start)}–{_hhmm(end)} overlaps or comes before "
                f"{_hhmm(before[0])}–{_hhmm(before[1])}; intervals must be sorted and not overlap"
            )
        checked.append((start, end))
    return tuple(checked)


def _hhmm(minutes: Any) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}" if isinstance(minutes, int) else repr(minutes)


def _aware(value: dt.datetime, name: str) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got naive {value!r}")
    return (value - _EPOCH) // _ONE_US


def _instant(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Calendar:
    """Opening hours in one time zone, with closed days and days with their own hours.

    `week` has exactly 7 `Hours`, Monday first. `closed` holds whole local days without opening hours
    (public holidays, the shop's closures). `special` gives days their own hours and wins over both `week`
    and `closed`; any mapping (or iterable of (date, hours) pairs) is accepted and stored as a read-only,
    hashable mapping. Lists are accepted for `week` and the hours and stored as tuples, so a Calendar is
    immutable, hashable and usable as a cache key. Invalid input raises ValueError saying what is wrong.
    """

    time_zone: str
    week: tuple[Hours, ...]
    closed: frozenset[dt.date] = frozenset()
    special: Mapping[dt.date, Hours] = field(default_factory=_FrozenHoursMap)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Set when no day after this ordinal can be open (a week without hours): the walk stops there.
    _open_until: int | None = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.time_zone, str) or not self.time_zone:
            raise ValueError(f"time_zone must be an IANA time zone name, got {self.time_zone!r}")
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.time_zone!r} (expected e.g. 'Europe/Warsaw')"
            ) from None
        week = tuple(self.week)
        if len(week) != 7:
            raise ValueError(f"week must have 7 days of hours, Monday first; got {len(week)}")
        week = tuple(_check_hours(hours, _WEEKDAYS[i]) for i, hours in enumerate(week))
        closed = frozenset(self.closed)
        for day in closed:
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise ValueError(f"closed days must be dates, got {day!r}")
        items = self.special.items() if isinstance(self.special, Mapping) else self.special
        special: list[tuple[dt.date, Hours]] = []
        for day, hours in items:
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise ValueError(f"special days must be dates, got {day!r}")
            special.append((day, _check_hours(hours, f"special day {day.isoformat()}")))
        frozen = _FrozenHoursMap(special)
        set_ = object.__setattr__
        set_(self, "week", week)
        set_(self, "closed", closed)
        set_(self, "special", frozen)
        set_(self, "_zone", zone)
        open_days = [day.toordinal() for day, hours in special if hours]
        set_(self, "_open_until", None if any(week) else max(open_days, default=0))
        # Hashed on every cache look-up: computed once.
        set_(self, "_hash", hash((self.time_zone, week, closed, frozen)))

    def __hash__(self) -> int:
        return self._hash

    def hours_on(self, day: dt.date) -> Hours:
        """The opening intervals of local date `day`."""
        special = self.special.get(day)
        if special is not None:
            return special
        if day in self.closed:
            return ()
        return self.week[day.weekday()]

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the calendar is open at instant `at` (the contract, read literally)."""
        _aware(at, "at")
        local = at.astimezone(self._zone)
        wall = ((local.hour * 60 + local.minute) * 60 + local.second) * _US_PER_SECOND + local.microsecond
        return any(
            start * _US_PER_MINUTE <= wall < end * _US_PER_MINUTE
            for start, end in self.hours_on(local.date())
        )

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        """`at` itself (in UTC) if open, else the next instant the calendar opens; None if it never does."""
        after = _aware(at, "at")
        for start, _end in _stretches(self, after):
            return _instant(max(start, after))
        return None

    def add(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """The earliest instant t >= start with `between(start, t) == delta`, in UTC.

        A zero delta gives `start` back even when closed; a positive one ends inside or at the end of an
        open stretch, never at the opening of the next one. Raises ValueError for a negative delta and
        NeverOpen when the calendar runs out of opening hours first.
        """
        if not isinstance(delta, dt.timedelta):
            raise TypeError(f"delta must be a timedelta, not {type(delta).__name__}")
        if delta < dt.timedelta(0):
            raise ValueError(f"business time to add must not be negative, got {delta}")
        after = _aware(start, "start")
        remaining = delta // _ONE_US
        if remaining == 0:
            return _instant(after)
        for opens, closes in _stretches(self, after):
            opens = max(opens, after)
            if remaining <= closes - opens:
                return _instant(opens + remaining)
            remaining -= closes - opens
        raise NeverOpen(f"the calendar in {self.time_zone} has no opening hours left to add {delta} to")

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """The business time in [a, b); zero when b <= a."""
        begin, end = _aware(a, "a"), _aware(b, "b")
        total = 0
        if end > begin:
            for opens, closes in _stretches(self, begin):
                if opens >= end:
                    break
                total += min(closes, end) - max(opens, begin)
        return dt.timedelta(microseconds=total)

    def openings(self, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open stretches overlapping [start, end), clipped to it, in order, as UTC datetimes.

        Stretches that touch (a day open until 24:00 and the next from 00:00) come out as one.
        """
        begin, finish = _aware(start, "start"), _aware(end, "end")
        return _clipped(self, begin, finish)


def _clipped(calendar: Calendar, begin: int, finish: int) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    if finish <= begin:
        return
    current: tuple[int, int] | None = None
    for opens, closes in _stretches(calendar, begin):
        if opens >= finish:
            break
        piece = (max(opens, begin), min(closes, finish))
        if current is not None and piece[0] == current[1]:
            current = (current[0], piece[1])
            continue
        if current is not None:
            yield _instant(current[0]), _instant(current[1])
        current = piece
    if current is not None:
        yield _instant(current[0]), _instant(current[1])


ALWAYS_OPEN = Calendar("UTC", week=(((0, MINUTES_PER_DAY),),) * 7)
"""Calendar time, 24/7: for targets counted in plain hours."""


def public_holidays(
    country: str, subdivision: str | None, years: Iterable[int], *, language: str | None = None
) -> dict[dt.date, str]:
    """Names of the public holidays of a country (ISO code, Poland: "PL") from the `holidays` package.

    `subdivision` is the package's code for a state or province, or None for the whole country;
    `language` picks the names' language where the package has it ("pl", "en_US"), else its default.
    Raises ValueError for a country or subdivision the package does not know.
    """
    import holidays  # imported here: only needed when a calendar is set up, not for the arithmetic

    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=list(years), language=language)
    except NotImplementedError as exc:
        raise ValueError(str(exc)) from None
    return {day: str(name) for day, name in sorted(found.items())}


def clear_caches() -> None:
    """Forget every cached day: after a time-zone database update, or to measure cold calls."""
    _day_stretches.cache_clear()
    _offset_segments.cache_clear()


# --- The walk over open stretches --------------------------------------------------------------------


def _stretches(calendar: Calendar, after: int) -> Iterator[tuple[int, int]]:
    """The open stretches (start, end) in epoch microseconds with end > `after`, in order.

    Stretches of different local dates never overlap (an instant has one local date) but may touch: they
    are not joined here, so a calendar open 24/7 still yields day by day. Ends when the calendar is never
    open again: past its last possible opening day, or after HORIZON_DAYS plus its closed days in a row
    without an opening (a safety net; a week with hours cannot be closed that long).
    """
    # Day D's stretches lie within a day of D's midnight read as UTC (|offset| < 24 h): the first date
    # that can still be open after `after` is the day before its UTC date, and once date D is loaded,
    # nothing from a later date can start at or before D's midnight read as UTC.
    ordinal = (after // _US_PER_DAY) + _EPOCH_ORDINAL - 1
    pending: list[tuple[int, int]] = []
    done = 0  # pending[:done] has been yielded
    open_until = calendar._open_until
    # The first and last two dates of datetime's range are skipped: their neighbourhood is not representable.
    last = min(_MAX_ORDINAL - 2, open_until if open_until is not None else _MAX_ORDINAL)
    max_gap = HORIZON_DAYS + len(calendar.closed)
    quiet = 0  # days in a row without any opening
    while ordinal <= last:
        day = _day_stretches(calendar, ordinal) if ordinal >= 3 else ()
        if day:
            quiet = 0
            if done < len(pending) and day[0][0] < pending[-1][0]:
                # A fall-back across midnight can interleave two dates' stretches: rare, so just sort.
                pending = sorted(pending[done:] + list(day))
                done = 0
            else:
                pending.extend(day)
        else:
            quiet += 1
            if quiet > max_gap:
                break
        safe = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY
        while done < len(pending) and pending[done][0] <= safe:
            stretch = pending[done]
            done += 1
            if stretch[1] > after:
                yield stretch
        if done > 64:
            del pending[:done]
            done = 0
        ordinal += 1
    for stretch in pending[done:]:
        if stretch[1] > after:
            yield stretch


@functools.lru_cache(maxsize=1 << 16)
def _day_stretches(calendar: Calendar, ordinal: int) -> tuple[tuple[int, int], ...]:
    """The instants at which local date `ordinal` is open, as sorted, joined (start, end) epoch µs."""
    hours = calendar.hours_on(dt.date.fromordinal(ordinal))
    if not hours:
        return ()
    midnight = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY  # local midnight of the date, read as UTC
    found: list[tuple[int, int]] = []
    for seg_start, seg_end, offset in _offset_segments(calendar._zone, ordinal):
        # Within a segment the offset is constant, so wall time = instant + offset and the instants whose
        # wall time lies in [start, end) on this date are that interval shifted back by the offset.
        for start, end in hours:
            lo = max(seg_start, midnight + start * _US_PER_MINUTE - offset)
            hi = min(seg_end, midnight + end * _US_PER_MINUTE - offset)
            if lo < hi:
                found.append((lo, hi))
    found.sort()
    joined: list[tuple[int, int]] = []
    for lo, hi in found:
        if joined and lo <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], hi))
        else:
            joined.append((lo, hi))
    return tuple(joined)


@functools.lru_cache(maxsize=1 << 14)
def _offset_segments(zone: ZoneInfo, ordinal: int) -> tuple[tuple[int, int, int], ...]:
    """(start, end, utc offset) in epoch µs covering every instant that can have local date `ordinal`."""
    midnight_s = (ordinal - _EPOCH_ORDINAL) * 86_400
    lo, hi = midnight_s - _OFFSET_BOUND_S, midnight_s + 86_400 + _OFFSET_BOUND_S
    samples = [*range(lo, hi, _SAMPLE_S), hi]
    segments: list[tuple[int, int, int]] = []
    seg_start, seg_offset = lo, _offset_s(zone, lo)
    for left, right in itertools.pairwise(samples):
        # Bisect each change of offset down to the second (transitions fall on whole seconds).
        while _offset_s(zone, right) != seg_offset:
            low, high = max(left, seg_start), right  # offset(low) == seg_offset != offset(high)
            while high - low > 1:
                mid = (low + high) // 2
                if _offset_s(zone, mid) == seg_offset:
                    low = mid
                else:
                    high = mid
            segments.append((seg_start, high, seg_offset))
            seg_start, seg_offset = high, _offset_s(zone, high)
    segments.append((seg_start, hi, seg_offset))
    return tuple((a * _US_PER_SECOND, b * _US_PER_SECOND, off * _US_PER_SECOND) for a, b, off in segments)


def _offset_s(zone: ZoneInfo, epoch_s: int) -> int:
    offset = dt.datetime.fromtimestamp(epoch_s, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return int(offset.total_seconds())
