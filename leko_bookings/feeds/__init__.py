"""The calendar feeds' GET route (`router.py`, outside the contract's `/v1`) and their iCalendar
documents (`ics.py`). The rules are `resolvers/calendar_feeds.py`'s."""
