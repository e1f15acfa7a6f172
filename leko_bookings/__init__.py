"""LE-KO Bookings: the booking service of a sports-coaching marketplace."""

__version__ = "0.1.0"
