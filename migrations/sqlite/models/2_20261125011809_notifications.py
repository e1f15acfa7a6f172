from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "notification" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "rule" VARCHAR(48) NOT NULL,
    "recipient_id" CHAR(36) NOT NULL,
    "recipient_role" VARCHAR(16) NOT NULL /* Athlete: Athlete\nCoach: Coach */,
    "status" VARCHAR(16) NOT NULL /* Pending: Pending\nSent: Sent\nFailed: Failed\nExpired: Expired */,
    "attempts" INT NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "valid_until" TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "read_at" TIMESTAMP,
    "booking_id" CHAR(36) NOT NULL REFERENCES "booking" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_notificatio_booking_25c199" UNIQUE ("booking_id", "rule", "recipient_id")
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_5784de" ON "notification" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_recipie_6a6533" ON "notification" ("recipient_id", "created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "notification";"""


MODELS_STATE = (
    "eJztXVtv2zgW/iuCnjpAt0gdN8kYgwXsxJl6J7GL2JkOZj0QGIm2uZUojUSlMbr970vqLo"
    "pyZNlJaS9fLIrkoaTvHN7Ohf6mO64F7eDdwHW/ILzUe9o3HQMH0gRf9FbTgeflBSyDgAc7"
    "qvtQqPQQEB+YhGYvgB1AmmXBwPSRR5CLaS4ObZtluiatGD80yQox+juEBnGXkKygTwv+/R"
    "fNRtiCTzBgt9/0BYK2FaX1MIC+gSz20IAAnxiA6Kw+fPJ8GAT0aUHaRPJNyXPI2oveWo8q"
    "07eNbr6/1UrNmy4wVy/YPnyEmOTtkzDYqXVW0ftiRA8o8TF+QpRvpLT396Or66gm48SDYb"
    "p26OC8trcmKxdn1cMQWe8YDStbQgx9QKBV4DB7tUQW0qyYmTSD+CHMuGjlGRZcgNBmcqL/"
    "sgixycRDi57Efrr/TF6tUM0wxpOZMR3ODEPfQqxMCiWFCWHCEP32PW43ByTK1dkDLj/279"
    "6cnv0UQeAGZOlHhRFc+veIEBBg5EzMUS4IY1OoCyT7xDvNyAHP+2EKZQqWZPDmcBY7X1M8"
    "izQKUA7QbASrAHpFoSDIgWJQi3QcqFZC+C5NHBe4s9HtcDrr335izTtB8LcdodWfDVlJJ8"
    "pdc7lvYl64dAKMJ8asEe3zaPZRY7fan5PxkOdYVm/2J5sodBAS18DuVwNYRUzS7DSrxGKI"
    "rRYMzqkUe6Vmb7JGqLD3cgX8IQ6diL0j+vkAm1DUjxNqjs0ULnkYq/dNE3r0LXpamprjO/"
    "gfaEZ5aWqOP1GxpYzvaUliji/ZZ9usVpqa4xG+QoEXEtjTsuQ8TVy5mOYXbvRGIqU74Mmw"
    "IV6SFb19f7ZBxH7v30Uj9HtebMZJSScqKg/Uno9i9pW5PEDLESbiLpyRcKylrywPaxv3Wf"
    "q+9PKPnzud09Pzzsnp2cWH7vn5h4uTC1o3euNq0fkGLgxGv47GszIDWIYAdsMMfR9ic922"
    "l1Vbkbq33d0PaKe6H7SR/IsGgn9RK/cXvNibruPZkCFSFX3XtSHAdYu+Ah0HNt2V2q+J9r"
    "b73eaT1WAyuSnNU4MRJ9Hj+9vBkA41EeK0EiI1go5dIhheZnQnKQY4rd9KkJOtnixDy6bl"
    "wPCPWQnhVFbf3Pb/+Km0GriZjH9NqxcYcHkzGfBCncxELZZlHOke1mYHxItDW5plzHpYGz"
    "4drNpOH6J2JO53ep+s2NhLF2txgq7C2B6cLsHYZY6n64BAp6fFVznWVzHGNmDfYPgQBPRi"
    "utaOPBO3JzPvxi65htCmrPhMX7+nle/neOzO6LjC8tl1jidMJdvToou8nCR0HttmdtvUhs"
    "Tck3bGs1DgoCBoNeXxtGrOk3nOs+KNc9JptulzVUrV01r1tATFgCIbvW0rHhSpFR9arPGp"
    "GJN2S/wSpdK+Sj3chZ7Vks1lSsVmqdlcNMo3tTsWaZTdkRseXd/a2jBepHlZQCuuCFLiyV"
    "w7Fl+EbgcRVFVsr10foiX+Da4rm1cO0MTLZ5K2c5CY5rn5833wNXOGKUkU/Xj6yTDWj172"
    "p5f9q6FeHQT2AOowbecwe/6zqBYHvhKqd3QcvhtdzmKvpAdgfvkKfMuokeEVCojrC2wug4"
    "Tw+rc7GG/R67FO3NQ+5m0dCei88h4tkBlhITAFbwPYuNDUMcHFJM7tuAVJK8lgtcjpOHwO"
    "wGAZfRJ7NnuSWMjqvSULYvis06RRkP/Xc55MHx733v16NtIPcKPRVvkzHqw/4/b7HLW/OY"
    "D9TdY1t+hCRZodOtLh6Im22N7E2Oxi8yu3ILW7yHPmvr7lIExL2WWOp+YKWqHNjEZZUk6T"
    "IDDF6tPGDNxFffpazGMrE+YdF18psxp62on86hKnuYlHP83KfOji26z0jqmWHwvlaQYTm8"
    "Rph4lOksxy6fveYytyzuNzmFWSQMoWvGS0hZvoqbH1KHpenEwEdOiDIH5WdtNG8DrdBoLX"
    "6dYKHisqC97Cdx1jN79OrgmJNfjKt1OnE/Nu3C41oHgtM68tSACyt7LJZRQSc1ZaO1x5Q9"
    "t0bVumUtr7zdrmQpjnjqrRQlTpYQL7rHK0LFlipXO9dvQltVixWlqgvMr01fU6q0w1/nqa"
    "qr3H4SrN0g/VLKnQzn2Hdnquv63NukijAFWxsv9velAVK3vU7D2SWNlUb2oJdthZWa5eFW"
    "rr5NgNsz4R2O620xRHpmYqfqZi2MTTTjrqVAW+ZrKqksqsv24MbFmSTzsNJPm0UyvJrEgA"
    "OZsIWgFeJFRwN4DbBB4wERF4B9WGwxdJjikivvO+e969OD3rZoHwWc6m+PdqCHAkiREkbS"
    "fIYgMyi7E+wTZi6uH4OseTxSLJiBNyzI5gCQ1myKnyY+oA266V9CLdMUn6aef8LBNydrNJ"
    "vqe3/ZubqpAzbIjbBtGYSuHJ2TNCH4jN5LVgFkmOCc69DcTqrBd11strzYQSnfXigbXDPM"
    "cdSPES7Acb4l9pRWr8L0HAPKXoryRrDsti1pNtfQFLVMobkBPs8MFGpmBA33SCUU7U7vii"
    "w0Fyj6cY2fARCpwrmo0cGbHEfhZ6H697Gv2Z4wFcIoyZH2WamuNbaKHQ6WnxdY4/+W5Poz"
    "9yjC3QRkv0gGzhvr0Zj7gmpOYUOz6lz85MuYWYsQTP8WfXYenoIgdPVJx6myHr4CwfKk79"
    "aNlcccxqElyZuCHtGCx4fO5aLxonWIqtFDha8bGX9f5WmK+5V7crPgzQD+MoFB+ayENJcO"
    "9fm5yzclMphk/M94FAx9v3PyWUXudtaUJSfmAH6weWCltT+1laX+ZdfkuzWbeJgqVbr2Hp"
    "VlQsfJdpKsw8nbK41wK7S9BftRWZpfqZwD859jdH4vKzmRHVcJkpFaKexn7n+BqgyPUnvs"
    "7x8MlDPstIEnIwKlkjCFhVb5UrkPxYu8fJDkP+no1H/IKrAufm7Z6AXO35pNvzFRn+CGxk"
    "GSEmorCyzczmSNXJqjLz2QYBMaDvu4KDveqjB8tUEutL98JTdZKnNKw4tO4VsGV3i+COnE"
    "wNnzLzl/bFNn24QKb4KzN/VaC3CvRWgd5NzBDxoa4C+0N22uvzhxNmB8z+kP91Vpr+Y9D0"
    "q/9G3q+XWeL4uEsEB9+G1FrP3HWSBTj6UXCjL4k2s+yFuqWUC4mVU6UY4d0U/NVWpBb5qq"
    "L/E0BU8NlvVdEvm2+x0qS06RMHsRNTTkiH4oTUhz4yV7pg+Z+UbFz/g7zOSy78t1qZ19oH"
    "hROnwDKYzI+7rchfPhxqRxNh/UL8EfpB7Um3NZajnETmCbOl403nw4cGcx+tVX+oKyvjDN"
    "y0U22BcFL9CNF9f3LSZGVxclK/tGBl/B+FYyL8e5Z/TSfjmkVFTsKvKJBJtP9qNgoOMXpy"
    "A7gMjM0GMt4Wxq0PWAMDkZLwNVVZ3/8Hor5HKg=="
)
