from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


# Generated, then merged by hand: the history's new action (Rescheduled) changes only a column
# comment, which SQLite cannot alter (aerich refuses to generate it); the DDL's comment is
# cosmetic. Issue 17: orders' Idempotency-Keys, and a reschedule's links between bookings.
async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "idempotency_key" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "user_id" CHAR(36) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "subject_id" CHAR(36) NOT NULL,
    "state" VARCHAR(16) NOT NULL /* Processing: Processing\nCompleted: Completed */,
    "lease_id" CHAR(36) NOT NULL,
    "leased_until" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "status_code" SMALLINT,
    "order_id" CHAR(36),
    "refusal" TEXT,
    "body" TEXT,
    CONSTRAINT "uid_idempotency_user_id_1b8b8d" UNIQUE ("user_id", "key")
);
CREATE INDEX IF NOT EXISTS "idx_idempotency_expires_8bff94" ON "idempotency_key" ("expires_at");
CREATE INDEX IF NOT EXISTS "idx_idempotency_subject_4aace4" ON "idempotency_key" ("subject_id");
        ALTER TABLE "booking" ADD "rescheduled_to" CHAR(36);
        ALTER TABLE "booking" ADD "rescheduled_from" CHAR(36);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "booking" DROP COLUMN "rescheduled_to";
        ALTER TABLE "booking" DROP COLUMN "rescheduled_from";
        DROP TABLE IF EXISTS "idempotency_key";"""


MODELS_STATE = (
    "eJztXW1z4jgS/isuvuxuVW4qQ16PursqSMgOOwmkgNxs7bHlUmwBuhjZ65fMpObmv58kv8"
    "m2TGxDEkH0BduSWjJPt1pSq9X+3lrZJrS8Dz3bfkB40epo31sYrCC5yWcdaC3gOGkGTfDB"
    "vcXK3nOF7j3fBYZPkufA8iBJMqFnuMjxkY1JKg4siybaBikYNholBRj9FUDdtxfQX0KXZP"
    "znT5KMsAm/QY8+fm/NEbRMdt8KPOjqyKSNej5wfR34LVoefnNc6HmkNS+uIvpPUTv+k8Pe"
    "usUKk7dlDz8OtLLqDRsYy3xT9M3iFD/wttm0sL0t1g8fIfb1l3r7qMYiVi/SBsTmdlqgBZ"
    "0HnTWS6QghTixdj2nv7gaXV6wkFeV73bCtYIXT0s6Tv7RxUjwIkPmB0tC8BcTQBT40uS5C"
    "Xy3qTHFS2BtIgu8GMOkGZppgwjkILNrRWv+YB9ig/UtjLdGf439Fr8YV0/XhaKpP+lNdb9"
    "XolwaBksCEsE8R/f4jrDcFhKW2aAMXn7rjn49Of2EQ2J6/cFkmg6v1gxECH+gpI1OUue5W"
    "FWqOZJt4xwkp4Kkii6GMwZIM3hROXoVUxZOnUYDmAOV1WRbQSwKFj1ZQDCpPlwPVjAg/xD"
    "f7Be50cNOfTLs3t7T6lef9ZTG0utM+zWmz1Kdc6s8hL2wygwhnFkkl2pfB9JNGH7U/RsN+"
    "nmNJuekfdLBogcC3dWx/1YHJYxInx0kZFqdDSR0Gp1SKvVKzN50zZNl7sQRuHwcrxt4B+f"
    "sAG1DUjyPqHJsJXPIwttU1DOiQt+ho8d0Mj+F/ocHS4rsZviViSxjf0aKbGb6gf9uipeK7"
    "GR7gS+Q5gQ87WnI7i28ubUzSuYdWJZFqrcA33YJ44S/J48fTNSL27+6YaeiPebEZRjltlp"
    "VV1I6LQvZludxDiwH2xV04IcmxlryyPKyt3GfJ+5LL3/7ebh8dnbUPj07PT47Pzk7OD89J"
    "WfbGxayzNVzoDX4dDKdZBtAEAey6EbguxMZT015WrEXq3ja+65FOdddrIvnnFQT/vFTuz/"
    "Nib9grx4IUkaLo27YFAS6b9HF0ObDJst56TbTrGgyqD1a90eg6M071BjmJHt7d9PpE1TDE"
    "SSHklwg6tn2BepmSlaQY4Lh8I0GOlnqyqJZ104H+79MMwrGs/nzT/f2XzGzgejT8NS7OMe"
    "DietTLC3U0EjWYluVItzA32yFe7NrULGHW/ZPuEmXVdPgQ1SNxv2t1/SXVvWSyFt6QWRhd"
    "g5MpGL3M8OTJ8+Gqo4VXOeZXIcYWoP9BdyHwyMWwzQ15Jq5PZt4Nbf8KQouw4gt5/Y6WfZ"
    "7hoT0leoWm0+sMj6hNu6Oxi7yc9Mk4Vmd0W1eHxNyTdsQzkbdCntdoyMvTqjFP5jHPDBfO"
    "Uaep0+eKlKqnNeppEYoeQZa9bSMe8NSKD/X5QBA0ltAM6LTNt+vsVxQpN9i12B0u1Ni04B"
    "Gau/aqKboxrcI3N4MiKthvtjzNUKqdA6mH6sAxG7I5S6nYLDWbebeYqlqSp1F75jn1aLtm"
    "bacOnuZlAS240UiJJ3VLmj8IXWYYVEVsr2wXogX+DJ8KhpccoJGL3yiuZycxTVPT9l3wNX"
    "HkykgU+fPkL8PQtn/RnVx0L/utohLYAqj9uJ7d7PnPosorvgyqY6KHx4OLaehRdw+Mh6/A"
    "JVNIsQwvkefbrmC/sBcRXn0ew9C8VI515KP6Ka1rT0BnENptm4MuA2oxa9Ve5VMABgv2l2"
    "jbtCUxauW+vxyuz7oA6xxDX88VOG48FMftOsuSP2Az9aGcS3fWubT+xF1N2Hdgwp50zRpd"
    "iKdR5owfAjw32YDN1iC1785ze69dc4UwyaWXGZ5EtjC3oyW3cu7PAkNsy67MwE1s2a/FPD"
    "ozoa6K4ZUwq6Lbo8jJMfJgHDnkr5mJQ2P4mOSOqZ3/kcuPE6jYRB5UVHSi2ySVvO8dNpmn"
    "ZD6FbhH7kLAFLygt98BaDbfyWHvhbSSgfRd4YVvJwwzf2Ozd2IX+88R0S/988tBEQNvHFQ"
    "S0fVwqoDQrK6DUmKxv5oybq0LibRflkNsiA/hm3M5UoHgtM69N6ANk1dpITSgk5qy0m6fZ"
    "hW/VOXCWSpmt15tZucPNG9oEubPUuwnss1bBrGSJra3lZsGXtHZdAKL2TOBeQZi1wIjyD9"
    "ZZuoyopD6Pi76knUtZjtSx5Ip4S6lYszPBB4j1JfCW4qmgGM8s1XaWpW8KZnYSdlplgXVa"
    "vsA6LSywlFdKo/nZLlg/C9OUtxlMw81NwSia7HqWD5/JBuvrbQ9tPZ6KGpTfdFBWwS22Hd"
    "zCsd26nk88jQJURQt5D8Ovihbybti7J9FCJpm9n6y5epJuEiW3IlO0HKZl2ic8y647TOXI"
    "1EiVH6koNuGwE2udqgtzAanMm8YN1+dH7QqSfNQulWSaJYCcDgSNAOcJFdwV4DaAAwzkC3"
    "xMSwMC8ST7FBOo/fH47Pj86PQ4CQWUpKyLAFQMgsIkkUHSdIDkK5BZjFsjbCG61xpeZ3g0"
    "n0cJ4Y0coyNYwJITfpMVsKxSSefp9knSj9pnp4mQ04d18j256V5fF4WcYiM6kfo8osLTqO"
    "8eTzNwgdg3rRRMnmSf4NyaIlbR7lS0u9caCSWKdueApxU9f7SCBC/BerAi/oVapMb/AnjU"
    "PTnaCJVgzmGadPekrgN+hkq54OcEO7i3kCFQ6OtiOKZEzQI47g6SW4zjaMFHKPBUrKY5Em"
    "KJnRZbXfzU0cjPDPfgAmFMDy/EdzN8A00UrDpaeJ3hW9fuaORHDt0CLbRA98gSrtur8ShX"
    "hdScogHkujRq3A3ElCV4hr/YK3rPLnLwRPmVNFFZO7fzoaKdvAs2u/ARefVW4zzJ2y4eD5"
    "vzcBsr8BpuWAU/csGeYoNYB7vbeV43yMHAhCvH9un6+jMUBjnIlThY57uG0rL6A3yBIAeZ"
    "z47RFv5c59cGvzmIaIQtfx3MC+7pQSUV8mCnfeTkcVyXQ+1suC6PenvVndqouMzmpIb7s+"
    "2TkyoHgk9Oyk8E07zckWDSPnQdF4lCL5WjnCPbQ7S3fziA0+41VEOWSmmHorun6KMg1X3F"
    "5N8Gv3Vtg04D2LHl5F4c/UAOc4UFgQdryjlPo6RcBKipB9gXHfFebxrI0yrjgNTGAWXqex"
    "ds5haQNdmcpVRslprNoTd6yVd61nsz5UgbWf0k217cokfTGwY4lgzU7cwwXDgPPFArfgxH"
    "IvEO31bUzssEkDEFho1yuOPyCutqWEtyYHto+2iODBBBVDCCZ/IP1pnAcb7klu3f2Qgybh"
    "BGknShgRwURZxeaxPHRHTJrMSHK2fDY97al0/9cV8LR0Dtn9pPUbSunwoW88zbHWTmwMqC"
    "vrMWdBVb6yVG+KAsuGzJ8B7IH0q2oW33uIpP7HG5U+xxwSs2r4eqymyeTkltKbCbBEcu1i"
    "KzVD8TIFkOG++enNJ+xvReCBc6IULU0ejvDF8BxE5rh9cZ7jPLDEmIbuRgVDQjE7Cq/CAV"
    "R/KuvY0yX5/PTW8LcK432wnIle1OatvdI7BQwz2XHKn6HLDMfLaA5+vQdW3BF73KzTFZKm"
    "WUqW8AUztd76J7eXTa3SAeV0qm1KfM/CV9sUkf5sgUf2XjryS28/DzmAKjefLdzOe/ipd8"
    "qvP1gp5y3rzKHr0P9mjl0b3dk9bR4X+GSAHTegEE4jqkNiOl4QNokD+XBfhzJTEPZSMx1J"
    "RyIbFyrRAjvJnFtFiL1CJftJzeAkQEn/4WLaeyxddQS1M1tVUHSN/4AOmY4NMLjAco/N4B"
    "l7t2HUBR1u/Tgm/yxaC3PMO2hx9cKZ+psy/WCLrplWWDEkNuSpLDe05pdrezijC+HN31rv"
    "va7bh/MZgMRsOsSmaZNCkN3jPud6+LnqLIskoGxzU45+gU2GVgS2J86UIXGUuR6o1y1qpd"
    "kJaR5httpfvdwnWLYKc70pzyatutbHmXa9dH6IrjlpQPZRyJzOuVhgPaixzJpp2qBsJR8T"
    "1E9+PhYZWF3eFh+cqO5uWWdjb2oeiw+2+T0bBkTZeS5Bd0yPC1/2kW8vZs7KJgZFZxhQ3f"
    "/N7uQXZ5Rit4cy/8H/8H+1OlSA=="
)
