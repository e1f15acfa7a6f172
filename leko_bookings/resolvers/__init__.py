"""Every business rule, once: plain async functions `(ctx, input)` raising `DomainError`.

- ordering.py: booking events (past, lead time, self-booking, conflicts, overbooking)
- reading.py: reading bookings and orders
- catalog.py: the event catalog (upsert)
- access.py: who may see and do what
- views.py: derived values (order status, serviceCardinality)
"""
