from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Hand-edited: aerich named the foreign key "fk_notifica_booking_46f1b207" and dropped it
    # IF EXISTS (a silent no-op); PostgreSQL named it notification_booking_id_fkey.
    return """
        DROP INDEX IF EXISTS "idx_notificatio_status_5784de";
        ALTER TABLE "notification" DROP CONSTRAINT "notification_booking_id_fkey";
        CREATE INDEX IF NOT EXISTS "idx_booking_status_b1f501" ON "booking" ("status", "end_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_booking_status_4e6b1a" ON "booking" ("status", "start_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_notificatio_next_at_84a463" ON "notification" ("next_attempt_at") WHERE status = 'Pending';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_notificatio_next_at_84a463";
        DROP INDEX IF EXISTS "idx_booking_status_4e6b1a";
        DROP INDEX IF EXISTS "idx_booking_status_b1f501";
        ALTER TABLE "notification" ADD CONSTRAINT "notification_booking_id_fkey" FOREIGN KEY ("booking_id") REFERENCES "booking" ("id") ON DELETE CASCADE;
        CREATE INDEX IF NOT EXISTS "idx_notificatio_status_5784de" ON "notification" ("status", "next_attempt_at");"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuCvmwX6BWp4yY54+4AO3G2vk3swnauiz0vBEaiHV4lSitRaYxe//uReh"
    "dFObLspLSPXyyK5FDSM0NyOJyhv+mOa0E7eDdw3S8Ir/Se9k3HwIE0wRe91XTgeXkByyDg"
    "3o7q3hcq3QfEByah2UtgB5BmWTAwfeQR5GKai0PbZpmuSSvGD02yQoz+DKFB3BUkD9CnBf"
    "/+g2YjbMEnGLDbb/oSQduK0noYQN9AFntoQIBPDEB0Vh8+eT4MAvq0IG0i+abkOWTtRW+t"
    "R5Xp20Y3399qpeZNF5gPL9g+fISY5O2TMNhn60mLxXdnUFov8wyIrf08gVX0vhjRQ0rSGO"
    "MU5Rsp7d3d6Oo6qsnk6d4wXTt0cF7bW5MHF2fVwxBZ7xgNK1tBDH1AoFWQU/ZqiUSnWbFI"
    "0gzihzCTRSvPsOAShDaTdv1vyxCbTMi16Ensp/uP5NUK1QxjPJkbs+HcMPQtOodJoaQwIU"
    "wYot++x+3mgES5OnvA5cf+9M3p2c8RBG5AVn5UGMGlf48IAQFGzsgc5UKXagp1gWSfeKcZ"
    "OeD5aJJCmYIlGbw5nMUhpCmeRRoFKAdocSwrA3pFoSDIgWJQi3QcqFZC+C5NHBe489HtcD"
    "bv335izTtB8KcdodWfD1lJJ8pdc7lvYl64dBqPp/esEe3zaP5RY7fa75PxkOdYVm/+O5ss"
    "dBAS18DuVwNYRUzS7DSrxOJ8KtmGwTmVYq/U7M11hjJ7Lx+AP8ShE7F3RD8fYBOK+nFCzb"
    "GZwiUPY/W+aUKPvkVPS1MLPIX/gWaUl6YW+BMVW8r4npYkFviSfbbNaqWpBR7hKxR4IYE9"
    "LUsu0sSVi2l+4UZvJFK6A54MG+IVeaC37882iNi/+tNohH7Pi804KelEReWB2vNRzL4ylw"
    "doNcJE3IUzEo619JXlYW3jPkvfl17+8tdO5/T0vHNyenbxoXt+/uHi5ILWjd64WnS+gQuD"
    "0S+j8bzMAJYhgN0wQ9+H2Fy37WXVVqTubdO7Ae1Ud4M2kn/RQPAvauX+ghd703U8GzJEqq"
    "LvujYEuE7pK9BxYNO1tf2aaG+7am8+WQ0mk5vSPDUYcRI9vrsdDOlQEyFOKyFSI+jYJYLh"
    "ZU5XkmKA0/qtBDlZ6skytGxSB4a/zUsIp7L65rb/288lbeBmMv4lrV5gwOXNZMALdTITtV"
    "DLONI96GYHxItDU80yZt2vDZ8OVm2nD1E7Evc7vU8e2NhLlbU4QbUwtganKhi7LPBsHRDo"
    "9LT4Kod+FWNsA/YNhg9BQC+ma+3IM3F7MvNu7JJrCG3Kis/09Xta+X6Bx+6cjissn10XeM"
    "IMyz0tusjLSULnsW1mt01tSMw9aWc8CwUOCoJWUx5Pq+Y8mec8K144J51mmz5XpVQ9rVVP"
    "S1AMKLLR27biQZFa8aGFjk/FmLRT8UuUyvoq9XAXelZLNpcpFZulZnPRtaDpvmORRu07cs"
    "Oj61tbb4wXaV4W0IorgpR4MteO5Reh20EEVRXba9eHaIV/hevK4pUDNPFVmqTtHCSmeW7+"
    "fB98zZxhShJFP55+Mozto5f92WX/aqhXB4E9gDpM2znMnv8sqsWBr4TqlI7D09HlPPZKug"
    "fml6/At4waGX5AAXF9wZ7LICG8/nUK4yV6PdaJs93HvK0jAT2C0O24BehKoFaLnI7D5wAM"
    "VtEnsWezJ4lRq3diLOD6rC+jUWDo6/k0pg+PxXG/Dof0A9xo+FAOegfroLe94q4U9gNQ2L"
    "OuuUUXKtLs0JEOx/Cxhb4eY7PLJla5Ban9H57bv+pbDsK0lF0WeGY+QCu02S5IlpRzjwuY"
    "YntgYwbuYg98LeYxzYS5e8VXyqyGrmMiR7HEC2zi0U+zMqew+DYrnTJb6WOhPM1gYpN4oT"
    "DRSZJZLn3fO2xF3mZ8DttmI5CyBa8YbeEmemq8HRI9L04mAjr0QRA/K7tpI3idbgPB63Rr"
    "BY8VlQVv6buOsZujIteExCZp5ayo04l5N26XGlC8lpnXFiQA2VttMmUUEnNW2o2l8oK2qW"
    "5bplLm6M3m00L05Y62vkKw52EC+6y1ryxZYitqvbnvJa1YsZ1VYLzKDLD1NqvM1vt6lqq9"
    "h8cqy9IPtSypWMV9xyp6rr/tJmyRRgGqgj//3+ygKvjzqNl7JMGfqd3UEqyws7LcvCq01s"
    "mxGmZ9IrDdbacpjkzNVPxMxbCJp5101KkKfM1kVSWV2X7dGNiyJJ92GkjyaadWklmRAHI2"
    "EbQCvEio4G4Atwk8YCIicHepje8ukhxTiHfnffe8e3F61s0iu7OcTQHd1ZjWSBIjSNpOkM"
    "UGZBZjfYJtxMzD8XWBJ8tlkhEn5JgdwQoabCOnyo+ZA2y7VtKLdMck6aed87NMyNnNJvme"
    "3fZvbqpCzrAhbhtEYyqFJ7efEfpAvE1eC2aR5Jjg3NtArA4vUYeXvNZMKNHhJR5YO8wV2o"
    "EUL8F6sCH+lVakxv8SBMxTiv5KonNYFts92dYXsESlvAE5wQ7vbWQKBvRNR/LkRO3O4zkc"
    "JPd4LI8NH6HAuaLZyJERS+xnoffxuqfRnwUewBXCmPlRpqkFvoUWCp2eFl8X+JPv9jT6I8"
    "fYAm20QvfIFq7bm/GIa0JqTrHzQPrsEJBbiBlL8AJ/dh2Wji5y8EQFXrcZsg5u50MFXh8t"
    "myuOWU2iBRM3JMFeWItwwcNl+uvGCY5dgpbIBMnLVhytSuVvN/lbYb7mXt2u+DBAP4yjUH"
    "xoIg8l0ap/bHLOwvCJeTwQ6Hg7+mVpnz8Op0Mt3nvV/q79lHgE/1QJLyy93dvS/KTcwg7W"
    "LUz5777AgjTt0E33KNP6MltSWm5NdpsYsbr1VqxuxYzFj0NNZZanU1JbC+wugZXVVmSW6m"
    "eCK+VYQx6JW9VmRlRDkmZUiHoa+13ga4Ai96r4usDDJw/5LCNJyMGoRCMTsKp+57NA8mP3"
    "lk52GPL3vEHHq7cVODcvqQXkal0t3bq6yPBHYCPLCDERhe5tZjZHqo5jlZnPNgiIAX3fFZ"
    "wGVh+hWaaS2Ca9F56q4z+lYcWhda+Aqd0tAmhyMjV8ysxf2hfb9OECmeKvbPzdYnvhJW3n"
    "8dGaAqN5dubm8yfqZcd8/pD/CFb26GOwR6t/qN2va1TirbdL2AHfhtRmpNzfj0Xl+VFEni"
    "+JeajsOrmllAuJlSegGOHdLKbVVqQW+arl9BNAVPDZb9VyKptDrFqaKtVWec78YM+ZPvSR"
    "+aAL1P+kZKP+D/I6L6n4b6WZ1264CCdOwVZLMj/uppFLHxRVr4g/Qj+oPZ61xhSfk8g8Yb"
    "b0ZOh8+NBg7qO16k8iZWXcjiHtVFsgnFQ/QnTfn5w00SxOTupVC1bG/10zJsI/yfjnbDKu"
    "USpyEl6jQCbR/qvZKDjEkL8N4DIwNu848JsLnH7AGhiIjjB8TVPW9/8BgG+uAw=="
)
