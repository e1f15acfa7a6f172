from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


# Generated, then extended by hand: the triggers and the first stale rows. serviceCardinality is
# stored on the booking (`service_rank`) and trusted only while no `booking_rank_stale` row names
# the booking's athlete and coach (store/bookings.py reads it so; resolvers/ranks.py settles).
# Every insert, delete, or change of status, start, coach or athlete of a booking writes such a
# row in its own transaction: a trigger rather than a statement of the service's, so that no
# write path can forget it. Every existing athlete and coach starts stale: the first settling
# (the notify run, `leko-bookings ranks settle`) computes their ranks with the service's rule.

async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_booking_user_id_6178c2";
        CREATE TABLE IF NOT EXISTS "booking_rank_stale" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" CHAR(36) NOT NULL,
    "coach_id" CHAR(36) NOT NULL
) /* An athlete's bookings with one coach whose stored ranks (`Booking.service_rank`) may be */;
CREATE INDEX IF NOT EXISTS "idx_booking_ran_user_id_25588a" ON "booking_rank_stale" ("user_id", "coach_id");
        ALTER TABLE "booking" ADD "service_rank" INT;
        CREATE INDEX IF NOT EXISTS "idx_booking_user_id_793c5e" ON "booking" ("user_id", "start_at", "id", "end_at");
        CREATE TRIGGER "leko_booking_rank_stale_insert" AFTER INSERT ON "booking"
        BEGIN
            INSERT INTO "booking_rank_stale" ("user_id", "coach_id") VALUES (NEW."user_id", NEW."coach_id");
        END;
        CREATE TRIGGER "leko_booking_rank_stale_delete" AFTER DELETE ON "booking"
        BEGIN
            INSERT INTO "booking_rank_stale" ("user_id", "coach_id") VALUES (OLD."user_id", OLD."coach_id");
        END;
        CREATE TRIGGER "leko_booking_rank_stale_update"
        AFTER UPDATE OF "status", "start_at", "coach_id", "user_id" ON "booking"
        WHEN OLD."status" IS NOT NEW."status" OR OLD."start_at" IS NOT NEW."start_at"
            OR OLD."coach_id" IS NOT NEW."coach_id" OR OLD."user_id" IS NOT NEW."user_id"
        BEGIN
            INSERT INTO "booking_rank_stale" ("user_id", "coach_id") VALUES (OLD."user_id", OLD."coach_id");
            INSERT INTO "booking_rank_stale" ("user_id", "coach_id") SELECT NEW."user_id", NEW."coach_id"
                WHERE OLD."user_id" IS NOT NEW."user_id" OR OLD."coach_id" IS NOT NEW."coach_id";
        END;
        INSERT INTO "booking_rank_stale" ("user_id", "coach_id")
            SELECT DISTINCT "user_id", "coach_id" FROM "booking";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER IF EXISTS "leko_booking_rank_stale_update";
        DROP TRIGGER IF EXISTS "leko_booking_rank_stale_delete";
        DROP TRIGGER IF EXISTS "leko_booking_rank_stale_insert";
        DROP INDEX IF EXISTS "idx_booking_user_id_793c5e";
        ALTER TABLE "booking" DROP COLUMN "service_rank";
        DROP TABLE IF EXISTS "booking_rank_stale";
        CREATE INDEX IF NOT EXISTS "idx_booking_user_id_6178c2" ON "booking" ("user_id", "start_at");"""


MODELS_STATE = (
    "eJztXW1T4zgS/iuufJmZKo5jAgNc7qUqgbCTHSBUAjdbe9nyKLaS6HDkrC3DpObmv58kv9"
    "tysJ0AStCX2JHUkv10S2q1Wu0fjbltQsvd79j2PcLTRkv70cBgDulNNmtPa4DFIs5gCQSM"
    "LV52nCg0dokDDEKTJ8ByIU0yoWs4aEGQjWkq9iyLJdoGLeg3GiR5GP3pQZ3YU0hm0KEZ//"
    "mDJiNswu/QZX9/NCYIWia/b3gudHRkskZdAhyiA8Lu/RSITfaf0cPvCwe6Lm3dDasM3jFo"
    "lywX/C043Xf69PzPzz2tqDnDBsassGmaQjx3k00L29tg/fABYqI/19MHNeaxepY2Asav3w"
    "IruLjXeSOpjuHjxNP1kPburnd+wUsy0R7rhm15cxyXXizJzMZRcc9D5j6jYXlTiKEDCDQT"
    "XYY9WtC5wiS/d9AE4ngw6hZmnGDCCfAs1vEa/5h42GD9TeMtsZ+jfwWPliim69f9W33Yvd"
    "X1RoV+alAoKUwIE4boj59+vTEgPLXBGjj73B68Pzz+wCGwXTJ1eCaHq/GTEwIC9JiRMcqJ"
    "7lYW6gTJJvEOE2LA44EthDIESzJ4YziTQ0hZPJM0CtAMoMmxLA3oOYWCoDkUg5qky4BqBo"
    "T74c1ugXvbu+oOb9tXN6z6uev+aXG02rddltPkqctM6nufFzbVKHxNI6pE+9q7/ayxv9rv"
    "/etulmNRudvf2WTRAB6xdWw/6sBMYhImh0kpFsdTSRUGx1SKvVKzN9YZ0uw9mwGni705Z2"
    "+Pvj7ABhT144A6w2YKlzyMbbQNAy7oU7S08G6EB/C/0OBp4d0I31CxpYxvacHNCJ+x17ZY"
    "qfBuhHv4HLkLj8CWFt2OwptzG9P0xJ9GKZFqzMF33YJ4Smb078fjFSL27/aAj9Afs2JzHe"
    "Q0eVZ6oF44yGdfmssdNO1hIu7CEUmGtfSR5WFt6T5Ln5de/vK3ZvPw8KR5cHh8+uno5OTT"
    "6cEpLcufOJ91soILnd4vvevbNANYggB23fAcB2JjWbeX5WuRurcN7jq0U9116kj+aQnBPy"
    "2U+9Os2Bv2fGFBhkhe9G3bggAXKX0JugzYdJlvvSTaVQ0I5SerTr9/mZqnOr2MRF/fXXW6"
    "dKjhiNNCiBQIOraJYHi5pStJMcBh+VqCHCz1ZBlaVqkD3d9uUwiHsvr+qv3bh5Q2cNm//i"
    "UsnmDA2WW/kxXqYCaqoZZlSDegm20RL7ZNNYuYNV7qDh2s6k4fonok7neNNpmxsZcqa/4N"
    "1cLYGpyqYOwywsOlS+C8pflXOfQrH2MLsHfQHQhcejFsc02eieuTmXfXNrmA0KKs+Eofv6"
    "Wl/4/wtX1LxxWWzq4j3Gc27pbGL/JyktB5rMrstqoOibkn7YxnIneOXLfWlJelVXOezHOe"
    "6S+cg05Tpc/lKVVPq9XTAhRdiix/2lo8SFIrPlTnA0XQmEHTY2obsavsV+Qp19i12B4uVN"
    "i0SCI0cex5XXRDWoVvRoOiQzCptzxNUaqdA6mnam9h1mRzmlKxWWo2u9B5YOZnB+D7PKML"
    "dw+yZLU2ESQbHoM9hObHo5Oj08Pjo2jrIEpZtWOQN5omPY7KTkBJGuWOkAHUdszK/jJJmu"
    "cFNOehJCWezONrci/0RuJQ5bG9sB2IpvgLXOZsWhlAA2/KfljPVmIap8btO+Ax8pFLSRR9"
    "efrK0N82OWsPz9rn3UZ+ENgAqN2wnu3s+U+imhz4UqgO6BQ36J3d+s6KY2DcPwKHaudiGZ"
    "4hl9iOYCu2ExBefBlA33JXjHXgDvw5rmtHQOcQ2k07AV0K1HzWvDnPpgAMpvyVWNusJTFq"
    "xW7WCVyf9LbWEwx9Oa/rsHFfHDfrh0xfwObDh/Lb3Vq/3eprIrUW2oK1UNQ1K3ShJI2yFP"
    "0U4LnO3na6Bqndop7a1m6bc4RpLruM8DAwMzotLbqVc+sbGOJtgtIMXGeb4KWYxzQT5gXq"
    "XymzSnqUivxHA+fQ/oK+mhn5ivp/o9wB20J5SOSHCUxsAuc0JjrBbZRKn/cOm9wJNZvCdt"
    "8JpGzBU0ab+MNb9XdJeXv+bSCgXQe4flvRnxG+svmz8Qt788gqzl4++lNHQJtHJQS0eVQo"
    "oCwrLaDMTq+v5+ecqULiHS3l69ygE/h63E5VoHgtM69NSACyKu1RRxQSc1bafen0wresDp"
    "ymUmbr1WbWxDnyNW2CiWPr2wnsk1bBtGSJra3FZsHntHadATrsmcC5gDBtgRHl762ydBlB"
    "SX0SFn1OO5eyHKkT3yXxlnJgTWuC9xDrM+DOxKqgGM801WaWpa8KZloJOy6zwDouXmAd5x"
    "ZYyuGnln62DdbPnJryOpOpv7kpmEWjXc/i6TPaYH257aGNh6pRk/KrTsoqbsim44YsbKeq"
    "51OSRgGqArG8helXBWJ5M+zdkUAsw9TeT9pcPYw3iaJbkSlaDtMy6xOuZVedpjJkaqbKzl"
    "QMG3/aCUedsgtzAanMm8Y11+eHzRKSfNgslGSWJYCcTQS1AE8SKrhLwG2ABTAQEfiYFp6W"
    "SJLsUriljR2V4JLIIak7QSYrkFmMG31sIbbX6l9HuD+ZBAn+jRyzI5jCgsOTwzmwrEJJT9"
    "LtkqQfNk+OIyFnf1bJ9/CqfXmZF3KGjeiw79OICg/6vnk8Tc8BYt+0QjCTJLsE58YGYhVI"
    "UAUSfKmZUKJAgguwnLPzR3NI8RKsB0vin6tFavzPgMvck4ONUAl0DtNkuydVHfBTVMoFPy"
    "PY3thChmBAXxUeMyaqFxtze5DcYIhMCz5AgadiuZEjIpbYabHRxsuWRn9GuAOnCGN2eCG8"
    "G+EraCJv3tL86wjfOHZLoz9yjC3QQlM0RpZw3V6OR5kqpOYUi83XZgH5riBmLMEj/NWes3"
    "t+kYMnyq+kzpC1dTsfKpDMm2CzAx+QW201niR53cXjQX0ebmIFXsENK+dHLthTrBHrYHs7"
    "Tz7IQVIqHwEiFnIFQ08VkL4GtXQxUfEgyjr19Uw4X9iEmSK+QGE8iEyJvVVufiguq9/DZ4"
    "gHkfr4HWvhj1UugPD7AtHBc8PfqHO9MTvTpaJDbLU7oTw+/nIMO2uaMILeXnZTOygus+Wt"
    "5lZ289OnMmenP30qPjzN8jKnp2n70Fk4SBSlqhjlDNkOor35cxSJ0b3C0JCmUqND3jNW9G"
    "ma8m518nsM3Di2wdQAfsI7uhcHipDDsmNB4MKKcp6kUVIuAtTUPUxEp+FXW1GytMqOIrUd"
    "RVlF3wSbEwvIimxOUyo2S81m33G/4FtRqx2/MqQ7FGF7E85frxgLWjJQN6NhOHDiuaBSqJ"
    "0EicSboRsZdp4n1o4pMGwUwx2WV1iXw1qSs+3XNkETZIAAopwRPJW/t8oEjrMlN2z/Tgfb"
    "cTw/6KYDDbRAQXDulTZxTEWXaiUEzhdrnojXvn7uDrqaPwNq/9TeBYHN3uUs5qmn20vpwM"
    "qCvrUWdBWG7DlmeK8oDm/B9O7JH3W3pm33qIz78FGx//BRzoE4Ow6VldksnZLaQmDXiSOd"
    "r0VmqX4ilrQcNt4dOdD+hOk9F1l1SIWopbHfEb4AiB9s968j3OWWGZoQ3MjBqEAjE7Cq+M"
    "xZguRNO2Ylccyqtzk4V5vtBOTKdie17e4BWKjmnkuGVH2UWmY+W8AlOnQcW/Dxs2JzTJpK"
    "GWWqG8DUTteb6F4uU7trhC6LydTwKTN/aV+s04cTZIq/svFXEtu5/yVRgdE8+sTo0x8QjL"
    "5q+nLxYRPevMoevQv2aOXRvdlD6UGcBI5IDtNqsRbCOqQ2I8WRFlg8RIfHQnQkMQ+lg1ZU"
    "lHIhsXKtECO8nsU0X4vUIp+3nN4ARAWf/eYtp7KFIlFLU6XaqrO2r3yAdADw/ZAADkhuBR"
    "BnlloFOLQ4GzqD8k8tBRptrAF/7+2dq4Xc1x4RmWk2hhqP/q89zmwXauz75NDUWAuu9v5b"
    "wOR9qv89sHBcLP3bB20Olto4F9zxudoZYdsjmj3R2EDT0h4dRAjE2nip0fULSwRj4LIm6Y"
    "NMp9ChFc7R1I+Np33zW+I1urRKhBnVCFPIsOt/0JUmAEIzaOPE3dP8r3LRG9vRDP7NUZc3"
    "5M9VexoP6ssz+fvQ5wLhy/59hH1qM3w6FxJi0Ry/DQfSmXHMnpDmzel7O/6HUh33r/z59h"
    "fLbx/2G+st0sJvObzYEm1VPD2hEiXYdgt0pfVWZ8/v7PsikfTU0u2FdFn1qZTn+Djk61jX"
    "BhTrjmfcQyKeYKPclTMs45g+jgu+yscLX/OM+A5++614OOUfzxOowReWDQrms5gkg/eE0e"
    "xWxz/v33Uuu9rNoHvWG/b61+klD89kSXEcwUG3fZk/iYEsq2DxuQLnDJ0CuwhsSYbfdFAh"
    "wQicizpUPAiHYY50GJXd8OEA/pm9YBIPFaTVEXIehF75e1zBXUfRzpwAiB5mjSrV9oraXp"
    "F8sKuioyvj5a4aL1MnyB+qHzdI0qh+I9IFMvgKNDDbgWiKv8Blbr9GbPWNvmG7naDmbL57"
    "bM33GE2WKZmib+9b8zj07eFZ+7zrT68vr1+1oYOMmUixCnJWalQgLvMqK1pRv34rJsM1Xf"
    "aLFQ1mNhaGqC02FSRIZN5vrWkweJaQcqxTVUA4KL6D6H48OCizMX1wULwzzfKyFlhMhBPT"
    "r8P+dZEBNiLJ6nTIINr/tDBC7pahvQJcBkZKkcs5rGd90zP6Aavg1aMI/Pw/Ufrrsg=="
)
