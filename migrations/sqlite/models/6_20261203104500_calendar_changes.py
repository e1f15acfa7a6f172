from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


# Written by hand (the history's new action, Moved, changes only a column comment, which
# SQLite cannot alter; the DDL's comment is cosmetic). The order in which `calendarChanges`
# subscribers receive the booking history (resolvers/changes.py, store/changes.py). SQLite has one writer at a time, so
# numbering the rows as they are inserted numbers them in commit order: `seq`, from a counter
# that never goes back (a row's rowid could be reused once the last rows are erased). The models
# cannot declare the trigger's column and counter: tests/test_migrations.py lists them.
async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "booking_history" ADD COLUMN "seq" INTEGER;
        CREATE TABLE "leko_history_counter" ("value" INTEGER NOT NULL);
        INSERT INTO "leko_history_counter" ("value") VALUES (0);
        CREATE TRIGGER "leko_booking_history_seq" AFTER INSERT ON "booking_history"
        BEGIN
            UPDATE "leko_history_counter" SET "value" = "value" + 1;
            UPDATE "booking_history" SET "seq" = (SELECT "value" FROM "leko_history_counter")
                WHERE rowid = NEW.rowid;
        END;
        CREATE INDEX "leko_booking_history_seq" ON "booking_history" ("seq");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "leko_booking_history_seq";
        DROP TRIGGER IF EXISTS "leko_booking_history_seq";
        DROP TABLE IF EXISTS "leko_history_counter";
        ALTER TABLE "booking_history" DROP COLUMN "seq";"""


MODELS_STATE = (
    "eJztXW1z4jgS/isuf9nZqtxUhmSSHHV3VUDIDrsJTAG52dpjy6XYAnSxZdaWM0nNzX8/SX"
    "63ZWIMSQSjL9iW1LL9dKtbarWbb7rjWtD233dd9x7hhd7WvukYOJCeFKuONB2sVmkFKyDg"
    "zuZt7zKN7nziAZPQ4jmwfUiLLOibHloR5GJaigPbZoWuSRuGN42KAoz+CqBB3AUkS+jRiv"
    "/8SYsRtuAj9NnlN32OoG3xcz3woWcgi93UJ8AjBiA6aw8fVx70fXo3P+4ieqfoPuRpxZ9a"
    "543p0/KL70darnvTBebyBfuHDxCTtH8S+LvsPeox++wMSutl7gGxtZs7sIare4PfJCeNIU"
    "683Ihpb28Hl1e8JZOnO8N07cDBaevVE1m6OGkeBMh6z2hY3QJi6AECrYycskeLJDouCkWS"
    "FhAvgIksWmmBBecgsJm06/+YB9hkQq7xO7Gf039Fj5ZpZhjD0dSY9KeGoW8wOEwKJYUJYc"
    "IQ/fY97DcFhJfq7Aa9T53xu5OznzkErk8WHq/kcOnfOSEgwEgZmaKcGVJ1oc6Q7BLvuCAF"
    "PNUmMZQxWJLBm8KZVSF18czSKEALgGZ1WR7QSwoFQQ4Ug5qlK4BqRYTv45PDAnc6uOlPpp"
    "2bz6x7x/f/sjlanWmf1bR46VOh9F3IC5ea8dC8J51oXwbTTxq71P4YDftFjiXtpn8wY6GD"
    "gLgGdr8awMpiEhfHRTkWp6ZkEwanVIq9UrM3nTPk2dtbAq+PA4ezd0BfH2ATisZxRF1gM4"
    "VLHsbqHdOEK/oUbS0+m+Ex/C80eVl8NsOfqdhSxre16GSGe+y1bdYqPpvhAb5E/iogsK0l"
    "p7P45NLFtDxzodcSKd0Bj4YN8YIs6eWHszUi9u/OmGvoD0WxGUY1LV6VV9QrD4Xsy3O5ix"
    "YDTMRDOCEpsJY+sjysrT1m6fPSw9/+3mqdnJy3jk/OLj6enp9/vDi+oG35E5erztdwoTv4"
    "ZTCc5hnACgSwG2bgeRCbT01HWbkXqUfb+LZLB9Vtt4nkX9QQ/ItKub8oir3pOisbMkTKou"
    "+6NgS4atKXoSuATdfW9muivemqvb6x6o5G1zk71R0UJHp4e9PtU1XDEaeNEKkQdOwSgXqZ"
    "0pWkGOC4fSNBjpZ6sqiWddOB/u/THMKxrL676fz+c242cD0a/hI3zzCgdz3qFoU6skQNpm"
    "UF0h3MzfaIF/s2NUuYdfdkeFRZNTUfon4kHnd6hyyZ7qWTtfCEzsLYGpxOwdhhhidPPoFO"
    "WwuPcsyvQoxtwN7B8CDw6cF0rS15Ju5PZt4NXXIFoU1Z8YU+flvLX8/w0J1SvcLK2XGGR8"
    "yx3Nb4QV5OEmrHNrFu6/qQmHvSWjwL+Q7y/UYmr0irbJ7MNs8KF87RoNlkzJUp1UhrNNIi"
    "FH2KLH/aRjzIUis+NJjjUzEmzab4OUrlfZVa3QUrqyGb85SKzVKzORtaUHffMUuj9h0L6t"
    "H1rI03xrM0LwtoKRRBSjxZaMf8Xhh2wKEqY3vlehAt8G/wqbR4LQAaxSqN4n72EtO0NL2/"
    "B74mwTA5iaIvT18Zhv7RXmfS61z29bIS2AGo/bif/Rz5z6KaVXw5VMdUD48HvWkYlXQHzP"
    "uvwLOMChleIp+4nmDPpRsRXv02huESvRrrKNjuU9rXgYDOIXRbbga6HKjlKqflFEsABgv+"
    "Suze7E5i1KqDGDO4PhvLaGQY+noxjfHNQ3HcbcAhfQGXqw8VoLe3AXqbT9zVhH0PJuzJ0N"
    "xgCGVpthhI++P42GC+HmKzzSZWvgep4x+e27/qWA7CtJYdZnhiLqEV2GwXJDmVc48LmGJ/"
    "YG0GbuMPfC3msZkJC/cKj5RZNUPHRIFiURTYaEVfzUqCwsLLpHbMfKUPmfq4gIlNFIXCRC"
    "c6TUrp895ii0ebFUvYNhuBlC14wWgzF/yu4XYIv194Gglo3wN+eK/kYoZvXP5s/NBEDFun"
    "NcSwdVophqwqL4Zzz3WM7cIWC11I7KBWoYs6NdPbcTvXgeK1zLy2IAHI3mjLKaGQmLPSbj"
    "Pll7d1Z7p5KuWcXu9MzXyLuaXnL/Pp534C+6zvLy9ZYp9qtfPvJX1aPUDVngW8KwjzfhZR"
    "/dE6f5YZtTTmcdOX9GYp/5D6gLMm3lIq1vxM8B5iYwn8pXgqKMYzT7WbxeebgpmfhJ3VWW"
    "CdVS+wzkoLLBV70mh+tg8+ztI05W2MabiFKbCiyd5mtflMtlFfbxNo55knlFF+U6Os0gDs"
    "Og3AyvU2jW/K0ihAVV6FH8H8qrwKPwx7DySvQrwlaQnc1UldunMp3AiTw7XMxoRvu5uaqQ"
    "KZslRFS8WwCc1OrHXqLswFpDJvDTdcn5+0akjySatSklmVAHJmCBoBniVUcNeA2wQrYCIi"
    "iCStTJ2SJTmk7CmtD6fnpxcnZ6dJ0pSkZF2ulHK6CC6JHJKmBjLbgcxirI+wjdhea3ic4d"
    "F8HhWEJ3JYR7CABouKKPNj4gDbrpT0LN0hSfpJ6/wsEXJ2sU6+Jzed6+uykDNsiNsE0ZBK"
    "4VkIDgg8II5AqwQzS3JIcO5MEau8YCov2GtZQonygq3Ak8O+MnIgxUuwHqyJf6kXqfHvAZ"
    "8FIUcboRLMOSyL7Z5sGmafo1KB9gXBDu5sZAoU+rpsdylRs1R3+4PkDjPe2fABCiIV62mO"
    "hFjioEW9g5/aGv2Z4S5cIIzZJwrx2QzfQAsFTlsLjzP82XPbGv2RQ7dAGy3QHbKF6/Z6PC"
    "p0ITWnWKqtDsuvdQMxYwme4S+uw875QQ6eqLiSJipr73Y+VE6TH4LNHnxA/mar8SzJ2y4e"
    "j5vzcBcr8A3CsEpx5II9xQYZDfZ38LxuKoOhS9AcmSB62FLAWq7+aF3cGi623Gn4WjFTgR"
    "eEH8p60EQrFCXU+HNdkBuGjyxyhEBntWV8m/blU3/c18I9bO2f2k/RZ0o/lTIg5J7uKGfn"
    "VXjd3obXqY+KXmBhHw/ounu9cXuZPVINt3hP6zgDT6u9gacld2BRD9WV2SKdktpKYLfJ/V"
    "DuRWapfib/gxxr8QMJT1vPiPJ30hMqRG2N/c7wFUA8TC08znD/cYU8VhCdyMGoaEYmYFX1"
    "DnKG5IdeZuX+oKQwvS3Bud41ISBX/gmp/RMPwEaWEWAiyiewntkFUpUxXmY+28AnBvQ8V5"
    "CwtDptRJ5KYt/+TniqMpRLw4p9G14+m3Y3+BApJVPqU2b+0rHYZAxnyBR/ZeOvJF95h9m/"
    "BU7zJC3480l/k0zkr/e1dyb/hvJHH4I/Wp4cLPLqtU1CzKKox20+3yj2IbUbKY2bZF83ev"
    "zLRk8S91A+BHVDKRcSq4hKMcLbeUzLvUgt8mXP6WeAqOCz37LnVLbAYrU0VVNbFTnzxpEz"
    "Y4pPNzDvoTDRU6Z27TqAoWzcpQ3fJFXiPawIIhYrkai5yjRXUNRxprnqmTpP1ScYple2Cy"
    "ocuSlJAe85o9nfwSrC+HJ0273ua5/H/d5gMhgN8yqZV7Ki9KuFcb9zXdqRnyO76s/j1+Bc"
    "oFNgV4EtifOlAz1kLkWqN6pZq3ZB2kaa5LSV+93CdYtgpzvSnPJq251seVdr1wfoiQO2q0"
    "1ZhkTm9UpDg9b6+LGGRaOtqv+dgtUVAjbooNoA4aj5AaL74fi4zsLu+Lh6ZcfqCks7FxPh"
    "3yj+OhkNK9Z0KUlxQYdMov1Ps5F/YLaLgZFbxZU2fIt7u0f55RnroPvWxuz7/wEe4zW1"
)
