from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "event" (
    "id" UUID NOT NULL PRIMARY KEY,
    "coach_id" UUID NOT NULL,
    "sport_id" UUID NOT NULL,
    "start_at" TIMESTAMPTZ NOT NULL,
    "end_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'Scheduled',
    "timeslot_id" UUID NOT NULL,
    "slot_start_time" VARCHAR(32) NOT NULL,
    "slot_end_time" VARCHAR(32) NOT NULL,
    "capacity" INT NOT NULL,
    "slot_type" VARCHAR(16) NOT NULL,
    "age_from" SMALLINT NOT NULL,
    "age_to" SMALLINT NOT NULL,
    "duration" INT NOT NULL,
    "price" BIGINT NOT NULL,
    "price_currency" VARCHAR(8) NOT NULL,
    "payment_method" VARCHAR(16) NOT NULL,
    "address_id" UUID,
    "public" BOOL,
    "level" VARCHAR(16),
    "eligibility" VARCHAR(16),
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_event_coach_i_5bd00a" ON "event" ("coach_id", "start_at");
COMMENT ON COLUMN "event"."status" IS 'Scheduled: Scheduled\nCanceled: Canceled';
COMMENT ON COLUMN "event"."slot_type" IS 'Online: Online\nOffline: Offline';
COMMENT ON COLUMN "event"."price_currency" IS 'RUB: RUB';
COMMENT ON COLUMN "event"."payment_method" IS 'Cash: Cash';
COMMENT ON COLUMN "event"."level" IS 'Any: Any\nBeginner: Beginner\nMedium: Medium\nPro: Pro';
COMMENT ON COLUMN "event"."eligibility" IS 'All: All\nMen: Men\nWomen: Women';
CREATE TABLE IF NOT EXISTS "booking_order" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" UUID NOT NULL,
    "payment_type" VARCHAR(16) NOT NULL,
    "payment_method_id" UUID,
    "payment_status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_booking_ord_user_id_2f5cdc" ON "booking_order" ("user_id", "created_at");
COMMENT ON COLUMN "booking_order"."payment_type" IS 'Cash: Cash\nCard: Card';
COMMENT ON COLUMN "booking_order"."payment_status" IS 'Pending: Pending\nPaid: Paid\nFailed: Failed\nCash: Cash';
CREATE TABLE IF NOT EXISTS "booking" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" UUID NOT NULL,
    "coach_id" UUID NOT NULL,
    "start_at" TIMESTAMPTZ NOT NULL,
    "end_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "price" BIGINT NOT NULL,
    "price_currency" VARCHAR(8) NOT NULL,
    "completed" BOOL NOT NULL DEFAULT False,
    "note" TEXT,
    "canceled_at" TIMESTAMPTZ,
    "canceled_by_role" VARCHAR(16),
    "cancellation_reason_code" VARCHAR(16),
    "cancellation_reason_text" TEXT,
    "dismissed_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "event_id" UUID NOT NULL REFERENCES "event" ("id") ON DELETE RESTRICT,
    "order_id" UUID NOT NULL REFERENCES "booking_order" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_booking_order_i_f8bf6d" ON "booking" ("order_id");
CREATE INDEX IF NOT EXISTS "idx_booking_user_id_6178c2" ON "booking" ("user_id", "start_at");
CREATE INDEX IF NOT EXISTS "idx_booking_coach_i_f8d90f" ON "booking" ("coach_id", "start_at");
CREATE INDEX IF NOT EXISTS "idx_booking_event_i_6913d2" ON "booking" ("event_id", "status");
COMMENT ON COLUMN "booking"."status" IS 'Accepted: Accepted\nRejected: Rejected\nPending: Pending\nCanceled: Canceled\nInDispute: InDispute\nDisputeDone: DisputeDone';
COMMENT ON COLUMN "booking"."price_currency" IS 'RUB: RUB';
COMMENT ON COLUMN "booking"."canceled_by_role" IS 'Athlete: Athlete\nCoach: Coach\nSystem: System';
COMMENT ON COLUMN "booking"."cancellation_reason_code" IS 'NotFeelingWell: NotFeelingWell\nNoTime: NoTime\nOther: Other';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXG1z2jgQ/isef2pnep0E8kKZm5sBQlquCWQCuXZ63HiELUAXW3JtuS2Ty38/SX5/o+"
    "CQVlB/wfJKK5tnV9qV9dgPqkUMaLqvu4TcI7xQ28qDioEFWSFb9UpRgW3HFVxAwcwUbWeJ"
    "RjOXOkCnTDwHpguZyICu7iCbIoKZFHumyYVEZw39iwYiD6PPHtQoWUC6hA6r+PsfJkbYgN"
    "+gy08f1DmCpiHKqudCR0MGv6hLgUM1QFXeHn6zHei67Gpu2EXwn4Lr0JUt7loVjdndipPH"
    "V0qqe50AffmM/cMvENO4f+q5T+qdN7TvNXGBlB39Kwi5Fure3Q0uLkVLbomZphPTs3Dc2l"
    "7RJcFRc89Dxmuuw+sWEEMHUGgkLMxvLfCFUOQbkwmo48HIikYsMOAceCb3E/X3uYd17h6K"
    "uBL/OfkjuLVEM00bjibauD/RNHULt9IZlAwmhClH9OHR7zcGREhVfoHeu87ti+bZSwEBce"
    "nCEZUCLvVRKAIKtNiIMcoJZ9wU6oTKLvEOBTHg8TgMoQzBkgzeGM7k4NsUz6RODWgG0GgG"
    "ywF6waCgyILFoCb1MqAageLrsHBY4E4G1/3xpHN9w7u3XPezKdDqTPq8piGkq4z0hW8Lwg"
    "KgHxijTpQPg8k7hZ8qn0bDftZiUbvJJx4oVOBRomHyVQNGEpNQHIpSJobYqGDgWKs2r9Tm"
    "DXKEnHl7S+D0sWcJ8w7Y3wdYh0XjONDOmJnBJY9h1Y6uQ5vdRVsJS1N8C/+FupCFpSm+YW"
    "7LDN9WgsIU9/jfNnmrsDTFA3yBXNujsK1ExWlYuCCYyRMn6kYupVrgm2ZCvKBLdnp8tsbF"
    "/urcihn6OOs2w6CmIarSE7XtIN98aSt30WKAafEQjlQypmW3LI9pNx6z7H7Z4bc3jUazed"
    "44ap61Tk/Oz09bRy3WVtxxvup8jRW6g7eD4SRtAC4ogF3TPceBWF9VHWX5XqQebbd3XTao"
    "7rpVPL+1geO3Sv2+lXV7nVi2CTkiedcnxIQAlyV9Cb0M2GxVav5ItLdd724erLqj0VUqTn"
    "UHGY8e3l13+2yqEYizRoiWODomtGB6mbCVZDHAYftKjhws9WSZWtalA/2PkxTCoa++uO58"
    "fJnKBq5Gw7dh84QBelejbtapg0hUIS3LqO4gN9sjW+xbahYZa7bSHDZZVQ0fRf1IPO7UDl"
    "3yuZcla36BZWF8Dc5SMH6Y4vHKpdBqK/5RjvzKx9gE/D9oDgQuO+jEeKLNivuT2XZDQi8h"
    "NJkpPrDbbyvp8ykekgmbV7icH6d4xB/JthVxkNeSlMWxbaLbuj4ktp60Ec9AroVct1LIy+"
    "rWMU/qmMdGC62W2qQ066dOUpvZs42KZk5r1maW2szJzchN91uSOvV+SyYQEsfYekMwqfO8"
    "gOa2YKXEk29pz+8Lt1sFVHlsL4kD0QK/h6tc0p4BNGA3jMJ+9hLTWBpf3wFfIxJAyqPYn2"
    "d/GfrPhXqdca9z0Vfzk8AOQO2H/eznyP8uqsmJL4XqLZuHbwe9ic/GmAH9/itwDC3lw7yG"
    "NEhGErXNV1kNKysBGCwEPPx/8LtOAV9A4oksUk7hiYz/4wg8O2fY1ByYn8qBqUkbuyZt2M"
    "TZNitL6tSA1iyYX24lU7NgDtm8B8KCGetLaHimv22deTIf1bWVqFjEb5HjKTwfE65Jtg1T"
    "GbU6UmUjFcfGDzvhrJN3+JJglVeVmYWyOTEo5cnNxgae3GyUejKvKoCcB4JKgCcVa7g3gF"
    "sHNtARLeBalRLdkiqHxHVrHJ+cn7SaZycRxS2SrGO25ck9whMFJFUDZLIDmd1YHWETcQKn"
    "f5zi0XweCPyCHNERLKA2d4iVt8fYAqZZ6ulJvUPy9Gbj/Cxycn6yzr/H152rq7yTc2woqY"
    "Kor1Xjmdmz9xzBf9hiIk6qHBKcO5uIaxZ3zeL+BVncNlhZfG/EggyvgvXghvjnepEa/x5w"
    "OeWR/UqScxgG3z3ZckGe1nrCenx/OFdbLMdtb2YivWBCX/duQqxU7cWE/UFyh+8nmPALNK"
    "vOHJGyxNxNtYNXbYX9THEXLhDGnFYblqb4GhrIs9qKf5ziG4e0FfYjx9wCTbRAM2QWrts3"
    "s1GmC6ktxYnRHc6GvoaYmwRP8Qdi8bI4yGGTmolZZcrau52Pmol5sGbOEd3K6UOxPwTf3C"
    "nYC+sGmpfvb6FZtk7Pf95nP42eY2s9PifDyucLFjCsIiLhdz+SpEXcxZ/yqaTEnF9TrfaW"
    "alV/bmi3y7vgicNTtk6yfezJMwvOLHAEq8CRhFGQfvyzpZcXKtdPM4oRfhqZJt+L1C6f/2"
    "TMDUDM8fnvFF8CJMg1/pEPCrke6tWLvCpjos7+6+x/h9l/BzpIX6oF6X9Qszb/B3Gb50z8"
    "t8rMS3cjCwNnwVZkEB+flpFLv7Fbnoh/gY5buHdeThdLqMgcMCsSxRqnpxvEPtaqNPiJus"
    "yWFhtUWyAcND9AdI+PjjbJLI6OylMLXpf99hamhW/+/TkeDcte24lUshkF0qnyn2Iidx9p"
    "C2vA5WCk0ojc9zKyn8bI5Ae8g27Ra60/8mXBx/8Bs+V+Gw=="
)
