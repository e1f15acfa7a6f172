"""Enumerations stored in the database, spelled exactly as the contract spells them."""

from enum import StrEnum


class EventStatus(StrEnum):
    Scheduled = "Scheduled"
    Canceled = "Canceled"


class SlotType(StrEnum):
    Online = "Online"
    Offline = "Offline"


class Level(StrEnum):
    Any = "Any"
    Beginner = "Beginner"
    Medium = "Medium"
    Pro = "Pro"


class Eligibility(StrEnum):
    All = "All"
    Men = "Men"
    Women = "Women"


class Currency(StrEnum):
    RUB = "RUB"


class SlotPaymentMethod(StrEnum):
    Cash = "Cash"


class BookingStatus(StrEnum):
    Accepted = "Accepted"
    Rejected = "Rejected"
    Pending = "Pending"
    Canceled = "Canceled"
    InDispute = "InDispute"
    DisputeDone = "DisputeDone"


class CanceledByRole(StrEnum):
    Athlete = "Athlete"
    Coach = "Coach"
    System = "System"


class CancellationReasonCode(StrEnum):
    NotFeelingWell = "NotFeelingWell"
    NoTime = "NoTime"
    Other = "Other"


class PaymentType(StrEnum):
    Cash = "Cash"
    Card = "Card"


class PaymentStatus(StrEnum):
    Pending = "Pending"
    Paid = "Paid"
    Failed = "Failed"
    Cash = "Cash"


class OrderStatus(StrEnum):
    Pending = "Pending"
    Confirmed = "Confirmed"
    Canceled = "Canceled"


class ActorRole(StrEnum):
    """Who acted on a booking, as the history records it."""

    Athlete = "Athlete"
    Coach = "Coach"
    Admin = "Admin"
    Scheduler = "Scheduler"
    System = "System"


class HistoryAction(StrEnum):
    Booked = "Booked"
    Accepted = "Accepted"
    Rejected = "Rejected"
    Canceled = "Canceled"
    DisputeOpened = "DisputeOpened"
    DisputeResolved = "DisputeResolved"
    Completed = "Completed"
    CompletionUndone = "CompletionUndone"
    NoteChanged = "NoteChanged"
    Dismissed = "Dismissed"
    CoachErased = "CoachErased"
    Moved = "Moved"  # its event's time (or coach) changed
    Rescheduled = "Rescheduled"  # moved to another event: Canceled here, a new booking there


class NotificationStatus(StrEnum):
    Pending = "Pending"
    Sent = "Sent"
    Failed = "Failed"
    Expired = "Expired"


class RecipientRole(StrEnum):
    Athlete = "Athlete"
    Coach = "Coach"


class IdempotencyState(StrEnum):
    """An Idempotency-Key's request: still being answered, or answered (its answer kept)."""

    Processing = "Processing"
    Completed = "Completed"
