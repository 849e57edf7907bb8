# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Chinese festivals and lunar birthdays, as pure functions of dates."""
import datetime as dt

from lunardate import LunarDate

# key: (calendar, month, day) of the festival
FESTIVALS = {
    'new_year': ('solar', 1, 1),
    'spring_festival': ('lunar', 1, 1),
    'lantern_festival': ('lunar', 1, 15),
    'dragon_boat_festival': ('lunar', 5, 5),
    'qixi_festival': ('lunar', 7, 7),
    'mid_autumn_festival': ('lunar', 8, 15),
    'double_ninth_festival': ('lunar', 9, 9),
    'national_day': ('solar', 10, 1),
    }


def lunar_month_day(date):
    "Return (month, day) of the date in the lunar calendar"
    lunar = LunarDate.fromSolarDate(date.year, date.month, date.day)
    return lunar.month, lunar.day


def dates_between(calendar, month, day, start, end):
    """Yield the Gregorian dates of a yearly (month, day) of the calendar
    from start to end included.

    The 30th of a lunar month that has 29 days that year falls on the 29th;
    29 February falls on 28 February in common years."""
    if calendar == 'lunar':
        # A Gregorian year overlaps two lunar years
        for lunar_year in range(start.year - 1, end.year + 1):
            for lunar_day in (day, day - 1):
                try:
                    date = LunarDate(
                        lunar_year, month, lunar_day).toSolarDate()
                except ValueError:
                    continue
                if start <= date <= end:
                    yield date
                break
    else:
        for year in range(start.year, end.year + 1):
            try:
                date = dt.date(year, month, day)
            except ValueError:
                date = dt.date(year, month, day - 1)
            if start <= date <= end:
                yield date


def festivals_between(keys, start, end):
    "Yield (key, date) of the festivals from start to end included"
    for key in keys:
        for date in dates_between(*FESTIVALS[key], start, end):
            yield key, date


def birthday_keys_between(start, end):
    """Return {(calendar, month * 100 + day): date} of the birthdays
    celebrated on each date from start to end included.

    29 February is celebrated on 28 February in common years; the 30th of a
    lunar month that has 29 days that year on the 29th."""
    keys = {}
    date = start
    while date <= end:
        keys[('solar', date.month * 100 + date.day)] = date
        month, day = lunar_month_day(date)
        keys[('lunar', month * 100 + day)] = date
        tomorrow = date + dt.timedelta(days=1)
        if (date.month, date.day) == (2, 28) and tomorrow.month == 3:
            keys[('solar', 229)] = date
        if day == 29 and lunar_month_day(tomorrow)[1] == 1:
            keys[('lunar', month * 100 + 30)] = date
        date = tomorrow
    return keys
