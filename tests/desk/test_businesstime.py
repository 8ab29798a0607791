"""Business time: the Calendar contract, checked against a minute-by-minute walk and in scenarios.

The oracle below knows nothing of the module: it takes the raw calendar data and asks zoneinfo, for each
UTC minute, "is the local wall time inside that local date's intervals?". Every zone used has offsets in
whole minutes and every interval boundary is a whole minute, so minutes are exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.desk.lib.businesstime import (
    ALWAYS_OPEN,
    Calendar,
    Hours,
    NeverOpen,
    public_holidays,
)

UTC = dt.UTC
WARSAW = ZoneInfo("Europe/Warsaw")
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
OFFICE: Hours = ((8 * 60, 18 * 60),)
MON_FRI_8_18 = (OFFICE,) * 5 + ((), ())


def warsaw(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW)  # type: ignore[misc]


def office(**kwargs: object) -> Calendar:
    return Calendar("Europe/Warsaw", week=MON_FRI_8_18, **kwargs)  # type: ignore[arg-type]


# --- The oracle --------------------------------------------------------------------------------------

ORACLE_LIMIT = 21 * 1440  # minutes the walk may look ahead


@dataclass
class Spec:
    """A calendar as raw data: what both the module and the oracle are built from."""

    zone: str
    week: tuple[Hours, ...]
    closed: frozenset[dt.date]
    special: dict[dt.date, Hours]

    def calendar(self) -> Calendar:
        return Calendar(self.zone, week=self.week, closed=self.closed, special=self.special)


@dataclass
class Walk:
    """Open or closed, minute by minute from `start` (a whole UTC minute), computed lazily."""

    spec: Spec
    start: dt.datetime
    minutes: list[bool] = field(default_factory=list)

    def is_open(self, i: int) -> bool:
        zone = ZoneInfo(self.spec.zone)
        while len(self.minutes) <= i:
            local = (self.start + len(self.minutes) * MINUTE).astimezone(zone)
            day = local.date()
            if day in self.spec.special:
                hours = self.spec.special[day]
            elif day in self.spec.closed:
                hours = ()
            else:
                hours = self.spec.week[day.weekday()]
            wall = local.hour * 60 + local.minute
            self.minutes.append(any(start <= wall < end for start, end in hours))
        return self.minutes[i]

    def between(self, a: int, b: int) -> int:
        return sum(self.is_open(i) for i in range(a, b))

    def add(self, amount: int) -> int | None:
        """Minutes from start to the end of the `amount`-th open minute; None past ORACLE_LIMIT."""
        if amount == 0:
            return 0
        count = 0
        for i in range(ORACLE_LIMIT):
            count += self.is_open(i)
            if count == amount:
                return i + 1
        return None

    def first_open(self) -> int | None:
        return next((i for i in range(ORACLE_LIMIT) if self.is_open(i)), None)


# --- Strategies --------------------------------------------------------------------------------------

# Instants where the offset changes in 2026 (found with zoneinfo); starts cluster around them.
TRANSITIONS = {
    "Europe/Warsaw": [dt.datetime(2026, 3, 29, 1, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "America/New_York": [dt.datetime(2026, 3, 8, 7, tzinfo=UTC), dt.datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Australia/Lord_Howe": [  # 30-minute DST
        dt.datetime(2026, 4, 4, 15, tzinfo=UTC),
        dt.datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ],
    "Asia/Kolkata": [],
    "UTC": [],
}
# Boundaries worth hitting often: the day's ends and the hours DST skips or repeats.
EDGES = [0, 0, 60, 90, 120, 150, 180, 1380, 1410, 1440, 1440]


@st.composite
def hours(draw: st.DrawFn) -> Hours:
    count = draw(st.integers(0, 3))
    point = st.one_of(st.sampled_from(EDGES), st.integers(0, 1440))
    points = sorted(draw(st.lists(point, min_size=2 * count, max_size=2 * count, unique=True)))
    return tuple(zip(points[::2], points[1::2], strict=True))


@st.composite
def starts(draw: st.DrawFn, zone: str) -> dt.datetime:
    near = TRANSITIONS[zone]
    if near and draw(st.integers(0, 3)) > 0:
        # From four days before a transition to one after, so walks cross it.
        return draw(st.sampled_from(near)) + draw(st.integers(-4 * 1440, 1440)) * MINUTE
    return dt.datetime(2025, 1, 1, tzinfo=UTC) + draw(st.integers(0, 3 * 365 * 1440)) * MINUTE


@st.composite
def cases(draw: st.DrawFn) -> tuple[Spec, dt.datetime]:
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    start = draw(starts(zone))
    first = start.astimezone(ZoneInfo(zone)).date()
    near = st.integers(-1, 14).map(lambda days: first + dt.timedelta(days=days))
    spec = Spec(
        zone=zone,
        week=tuple(draw(hours()) for _ in range(7)),
        closed=frozenset(draw(st.lists(near, max_size=6))),
        special=draw(st.dictionaries(near, hours(), max_size=3)),
    )
    return spec, start


amounts = st.integers(0, 3 * 1440)  # minutes
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Properties --------------------------------------------------------------------------------------


@PROPERTY
@given(case=cases(), amount=amounts)
def test_adding_business_time_matches_the_minute_by_minute_walk(case: tuple[Spec, dt.datetime], amount: int):
    spec, start = case
    calendar, walk = spec.calendar(), Walk(spec, start)
    due = walk.add(amount)
    if due is not None:
        assert calendar.add(start, amount * MINUTE) == start + due * MINUTE
    elif any(spec.week):
        # Not reached within the walk's limit: the module must find it later, not earlier.
        assert calendar.add(start, amount * MINUTE) > start + ORACLE_LIMIT * MINUTE
    else:
        with pytest.raises(NeverOpen):
            calendar.add(start, amount * MINUTE)


@PROPERTY
@given(case=cases(), length=amounts, offset=st.integers(0, 1440))
def test_business_time_between_two_instants_matches_the_walk(
    case: tuple[Spec, dt.datetime], length: int, offset: int
):
    spec, start = case
    calendar, walk = spec.calendar(), Walk(spec, start)
    a, b = start + offset * MINUTE, start + (offset + length) * MINUTE
    assert calendar.between(a, b) == walk.between(offset, offset + length) * MINUTE
    assert calendar.between(b, a) == dt.timedelta(0)
    stretches = list(calendar.openings(a, b))
    assert sum((end - begin for begin, end in stretches), dt.timedelta(0)) == calendar.between(a, b)
    for begin, end in stretches:
        assert a <= begin < end <= b
        assert calendar.is_open(begin) and calendar.is_open(end - MINUTE)
        assert walk.is_open(offset + (begin - a) // MINUTE)
    # Touching stretches come out joined: between two of them there is a closed minute.
    for (_, end), (begin, _) in itertools.pairwise(stretches):
        assert begin > end and not calendar.is_open(end)


@PROPERTY
@given(case=cases(), probes=st.lists(st.integers(0, 2 * 1440), min_size=1, max_size=5))
def test_is_open_and_next_open_match_the_walk(case: tuple[Spec, dt.datetime], probes: list[int]):
    spec, start = case
    calendar, walk = spec.calendar(), Walk(spec, start)
    for i in probes:
        assert calendar.is_open(start + i * MINUTE) == walk.is_open(i)
    first = walk.first_open()
    if first is not None:
        assert calendar.next_open(start) == start + first * MINUTE
    elif not any(spec.week):
        assert calendar.next_open(start) is None


@PROPERTY
@given(
    case=cases(),
    amount=st.integers(0, 5 * 24 * 3600 * 10**6).map(lambda us: dt.timedelta(microseconds=us)),
    less=st.floats(0, 1),
    jitter=st.integers(0, 59_999_999),
)
def test_adding_is_undone_by_between_and_grows_with_the_amount(
    case: tuple[Spec, dt.datetime], amount: dt.timedelta, less: float, jitter: int
):
    spec, start = case
    calendar = spec.calendar()
    start += dt.timedelta(microseconds=jitter)  # off the minute grid: microseconds are exact too
    if not any(spec.week):
        return  # nothing to add to: covered by the walk test
    due = calendar.add(start, amount)
    assert due >= start
    assert calendar.between(start, due) == amount
    smaller = calendar.add(start, amount * less)  # timedelta * float rounds to a microsecond
    assert start <= smaller <= due
    if amount:
        # The smallest such instant: a moment earlier there is less business time behind.
        assert calendar.between(start, due - dt.timedelta(microseconds=1)) < amount


# --- Scenarios ---------------------------------------------------------------------------------------


def test_a_friday_evening_message_with_a_one_hour_target_is_due_monday_morning():
    friday_1730 = warsaw(2026, 1, 16, 17, 30)
    assert office().add(friday_1730, HOUR) == warsaw(2026, 1, 19, 8, 30)


def test_results_are_in_utc():
    due = office().add(warsaw(2026, 1, 16, 17, 30), HOUR)
    assert due.tzinfo is UTC
    assert due == dt.datetime(2026, 1, 19, 7, 30, tzinfo=UTC)


def test_polish_public_holidays_include_christmas_eve_from_2025_and_independence_day():
    names = public_holidays("PL", None, [2025, 2026])
    assert dt.date(2025, 12, 24) in names  # Wigilia: a public holiday in Poland from 2025
    assert dt.date(2026, 12, 24) in names
    assert dt.date(2025, 11, 11) in names and dt.date(2026, 11, 11) in names
    assert public_holidays("PL", None, [2025], language="pl")[dt.date(2025, 12, 24)] == (
        "Wigilia Bożego Narodzenia"
    )


def test_an_unknown_country_is_a_clear_error():
    with pytest.raises(ValueError, match="XX"):
        public_holidays("XX", None, [2026])


def test_two_hours_from_the_evening_before_christmas_eve_land_after_christmas_and_the_weekend():
    calendar = office(closed=frozenset(public_holidays("PL", None, [2025, 2026])))
    tuesday_23_dec_1700 = warsaw(2025, 12, 23, 17, 0)
    # One hour on the 23rd; 24–26 December are holidays, 27–28 the weekend; the second hour on Monday.
    assert calendar.add(tuesday_23_dec_1700, 2 * HOUR) == warsaw(2025, 12, 29, 9, 0)
    assert calendar.between(tuesday_23_dec_1700, warsaw(2025, 12, 29, 9, 0)) == 2 * HOUR


def test_a_split_shift_skips_the_lunch_break():
    split = ((9 * 60, 13 * 60), (15 * 60, 19 * 60))
    calendar = Calendar("Europe/Warsaw", week=(split,) * 7)
    assert calendar.add(warsaw(2026, 5, 5, 12, 30), HOUR) == warsaw(2026, 5, 5, 15, 30)
    assert calendar.between(warsaw(2026, 5, 5, 0, 0), warsaw(2026, 5, 6, 0, 0)) == 8 * HOUR
    assert not calendar.is_open(warsaw(2026, 5, 5, 14, 0))
    assert calendar.next_open(warsaw(2026, 5, 5, 14, 0)) == warsaw(2026, 5, 5, 15, 0)


def test_one_to_four_at_night_is_two_real_hours_on_the_spring_forward_day():
    night = Calendar("Europe/Warsaw", week=(((60, 240),),) * 7)
    sunday = warsaw(2026, 3, 29, 0, 0)
    assert night.between(sunday, sunday + dt.timedelta(days=1)) == 2 * HOUR
    # 01:00–02:00 winter time, then straight to 03:00 summer time.
    assert list(night.openings(sunday, sunday + dt.timedelta(days=1))) == [
        (dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC), dt.datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
    ]


def test_one_to_four_at_night_is_four_real_hours_on_the_fall_back_day():
    night = Calendar("Europe/Warsaw", week=(((60, 240),),) * 7)
    sunday = warsaw(2026, 10, 25, 0, 0)
    assert night.between(sunday, sunday + dt.timedelta(days=1)) == 4 * HOUR
    assert night.add(sunday, 4 * HOUR) == dt.datetime(2026, 10, 25, 3, 0, tzinfo=UTC)  # 04:00 winter time


def test_hours_starting_inside_the_skipped_hour_open_when_the_clock_reaches_them():
    calendar = Calendar("Europe/Warsaw", week=(((150, 240),),) * 7)  # 02:30–04:00
    sunday = warsaw(2026, 3, 29, 0, 0)
    # 02:30 does not exist that night: the first instant past it is 03:00 summer time.
    assert calendar.next_open(sunday) == warsaw(2026, 3, 29, 3, 0)
    assert calendar.between(sunday, sunday + dt.timedelta(days=1)) == HOUR


def test_half_an_hour_in_the_repeated_hour_is_open_twice_on_the_fall_back_day():
    calendar = Calendar("Europe/Warsaw", week=(((150, 180),),) * 7)  # 02:30–03:00
    sunday = warsaw(2026, 10, 25, 0, 0)
    assert list(calendar.openings(sunday, sunday + dt.timedelta(days=1))) == [
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    ]


def test_lord_howe_island_moves_its_clocks_by_half_an_hour():
    calendar = Calendar("Australia/Lord_Howe", week=(((60, 240),),) * 7)
    local = ZoneInfo("Australia/Lord_Howe")
    spring, autumn = dt.datetime(2026, 10, 4, tzinfo=local), dt.datetime(2026, 4, 5, tzinfo=local)
    assert calendar.between(spring, spring + dt.timedelta(days=1)) == 2.5 * HOUR
    assert calendar.between(autumn, autumn + dt.timedelta(days=1)) == 3.5 * HOUR


def test_a_late_shift_and_an_early_shift_the_next_day_make_one_stretch():
    late_and_early = ((0, 120), (22 * 60, 1440))
    calendar = Calendar("Europe/Warsaw", week=(late_and_early,) * 7)
    monday = warsaw(2026, 5, 4, 12, 0)
    assert list(calendar.openings(monday, monday + dt.timedelta(days=1))) == [
        (warsaw(2026, 5, 4, 22, 0), warsaw(2026, 5, 5, 2, 0))
    ]
    assert calendar.add(warsaw(2026, 5, 4, 23, 0), 2 * HOUR) == warsaw(2026, 5, 5, 1, 0)


def test_a_special_saturday_opening_takes_messages_from_friday_evening():
    saturday = dt.date(2026, 1, 17)
    calendar = office(special={saturday: ((10 * 60, 14 * 60),)})
    assert calendar.hours_on(saturday) == ((600, 840),)
    assert calendar.add(warsaw(2026, 1, 16, 17, 30), HOUR) == warsaw(2026, 1, 17, 10, 30)


def test_special_hours_win_over_a_closed_day():
    christmas_eve = dt.date(2025, 12, 24)
    calendar = office(closed=frozenset({christmas_eve}), special={christmas_eve: ((8 * 60, 12 * 60),)})
    assert calendar.hours_on(christmas_eve) == ((480, 720),)
    assert calendar.is_open(warsaw(2025, 12, 24, 11, 59))
    assert not calendar.is_open(warsaw(2025, 12, 24, 12, 0))


def test_a_two_week_closure_is_skipped():
    closure = frozenset(dt.date(2026, 7, 20) + dt.timedelta(days=i) for i in range(14))
    calendar = office(closed=closure)
    assert calendar.add(warsaw(2026, 7, 17, 17, 0), 2 * HOUR) == warsaw(2026, 8, 3, 9, 0)


def test_calendar_time_counts_elapsed_hours_even_across_a_clock_change():
    start = dt.datetime(2026, 3, 28, 23, 17, 5, 123, tzinfo=WARSAW)
    # Not `start + 40 h`: Python adds to the wall clock, which skips an hour that night.
    assert ALWAYS_OPEN.add(start, dt.timedelta(hours=40)) == start.astimezone(UTC) + dt.timedelta(hours=40)
    assert ALWAYS_OPEN.add(start, dt.timedelta(hours=40)) == warsaw(2026, 3, 30, 16, 17, 5, 123)
    nine_days_later = start + dt.timedelta(days=9)  # same wall time, one hour fewer went by
    assert ALWAYS_OPEN.between(start, nine_days_later) == dt.timedelta(days=9) - HOUR


def test_adding_nothing_gives_the_start_even_when_closed():
    sunday_night = warsaw(2026, 1, 18, 23, 0)
    assert office().add(sunday_night, dt.timedelta(0)) == sunday_night


def test_the_end_of_an_hour_that_fills_the_day_is_closing_time_not_next_morning():
    assert office().add(warsaw(2026, 1, 16, 17, 0), HOUR) == warsaw(2026, 1, 16, 18, 0)


def test_a_calendar_that_is_never_open_says_so():
    never = Calendar("Europe/Warsaw", week=((),) * 7)
    start = warsaw(2026, 1, 16, 12, 0)
    with pytest.raises(NeverOpen):
        never.add(start, MINUTE)
    assert never.next_open(start) is None
    assert never.between(start, start + dt.timedelta(days=3650)) == dt.timedelta(0)


def test_a_calendar_open_only_on_a_past_special_day_is_never_open_again():
    once = Calendar("UTC", week=((),) * 7, special={dt.date(2026, 1, 1): ((0, 60),)})
    assert once.next_open(dt.datetime(2025, 12, 31, tzinfo=UTC)) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert once.next_open(dt.datetime(2026, 1, 1, 1, tzinfo=UTC)) is None


def test_negative_business_time_is_refused():
    with pytest.raises(ValueError, match="negative"):
        office().add(warsaw(2026, 1, 16, 12, 0), -MINUTE)


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2026, 1, 16, 12, 0)
    aware = warsaw(2026, 1, 16, 12, 0)
    calendar = office()
    for call in (
        lambda: calendar.is_open(naive),
        lambda: calendar.next_open(naive),
        lambda: calendar.add(naive, HOUR),
        lambda: calendar.between(naive, aware),
        lambda: calendar.between(aware, naive),
        lambda: list(calendar.openings(aware, naive)),
    ):
        with pytest.raises(ValueError, match="aware"):
            call()


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ((((600, 540),),) * 7, r"Monday: interval 10:00–09:00 \(600, 540\) must have 0 <= start < end"),
        ((((0, 1441),),) * 7, "must have 0 <= start < end <= 1440"),
        ((((-30, 60),),) * 7, "must have 0 <= start"),
        ((((540, 720), (700, 900)),) * 7, "Monday: interval 11:40–15:00 overlaps or comes before 09:00"),
        ((((780, 900), (540, 720)),) * 7, "overlaps or comes before"),
        ((((540, 720.5),),) * 7, "not a \\(start, end\\) pair of whole minutes"),
        ((((540,),),) * 7, "not a \\(start, end\\) pair"),
        ((OFFICE,) * 6, "week must have 7 days of hours, Monday first; got 6"),
        (((0, 1440),) * 7, "Monday: hours must be a sequence of"),
    ],
)
def test_bad_opening_hours_are_refused_with_a_clear_message(week: object, message: str):
    with pytest.raises(ValueError, match=message):
        Calendar("Europe/Warsaw", week=week)  # type: ignore[arg-type]


def test_bad_special_hours_name_their_day():
    with pytest.raises(ValueError, match="special day 2026-01-17: interval 14:00–10:00"):
        office(special={dt.date(2026, 1, 17): ((840, 600),)})


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Atlantis'"):
        Calendar("Europe/Atlantis", week=MON_FRI_8_18)


def test_closed_days_must_be_dates():
    with pytest.raises(ValueError, match="closed days must be dates"):
        office(closed=frozenset({dt.datetime(2026, 1, 1, tzinfo=UTC)}))


def test_equal_calendars_are_equal_and_hash_alike():
    one = office(special={dt.date(2026, 1, 17): ((600, 840),)}, closed=frozenset({dt.date(2026, 1, 1)}))
    two = Calendar(
        "Europe/Warsaw",
        week=[list(day) for day in MON_FRI_8_18],  # type: ignore[misc]
        closed={dt.date(2026, 1, 1)},  # type: ignore[arg-type]
        special={dt.date(2026, 1, 17): [(600, 840)]},  # type: ignore[dict-item]
    )
    assert one == two and hash(one) == hash(two)
    assert one != office()
