from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


# Edited by hand: UNLOGGED. The rate limiter writes this table on every authenticated request;
# without WAL that write costs a fraction (measured here: ~0.5 ms instead of 2-5 ms a request).
# The buckets are throw-away counters: after a crash PostgreSQL empties the table (every caller
# starts again with a full bucket) and standbys do not hold it. generate_schemas() would make it
# a logged table; the drift test does not compare persistence (tests/test_rate_limits.py does).
async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE UNLOGGED TABLE IF NOT EXISTS "rate_bucket" (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    "tokens" DOUBLE PRECISION NOT NULL,
    "refilled_at" DOUBLE PRECISION NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "rate_bucket";"""


MODELS_STATE = (
    "eJztXW1z4jgS/isuf9nZqtxUhjBJjrq7KkjIDrcJpIDcbO2x5VJsQXSxJdaWM6Hm5r+f5P"
    "cXmRhDEsHpC5YltWw/3WpJ3S3xXXeIBW3vY4+QR4QXekf7rmPgQJYoFh1pOlgu0wKeQcG9"
    "HdS9z1S696gLTMqy58D2IMuyoGe6aEkRwSwX+7bNM4nJKoYPjbJ8jP70oUHJAtIH6LKCf/"
    "/BshG24DP0+O13fY6gbQVp3fegayCLP9SjwKUGoDqvD5+XLvQ89jQvbiL6pug5dLUM3loP"
    "KrO3DW5+HGm55k0CzIdXbB8+QUzT9qnv7bL1qMXsu3Mordd5BsTWbp7AKy4fjeAhOWkMcQ"
    "ryjZj27m5weRXU5PJ0b5jE9h2c1l6u6APBSXXfR9ZHTsPLFhBDF1BoZeSUv1ok0XFWKJIs"
    "g7o+TGTRSjMsOAe+zaVd/9vcxyYXci14Ev9p/yN6tUw1wxiOpsakPzUMfYPOYTIoGUwIU4"
    "7o9x9huykgQa7OH3DxpTv+cHL6cwAB8ejCDQoDuPQfASGgwEgZmaKc6VJ1oc6Q7BLvOCMF"
    "PNUmMZQxWJLBm8KZVSF18czSKEALgGZ1WR7QSwYFRQ4Ug5qlK4BqRYQf48RhgTsd3PQn0+"
    "7NLW/e8bw/7QCt7rTPS1pB7qqQ+yHkBWHDeDi8J41oXwfTLxq/1X4fDftFjiX1pr/zwUIH"
    "PiUGJt8MYGUxibPjrByL06FkEwanVIq9UrM3nTPk2XvxANw+9p2AvQP2+QCbUNSPI+oCmx"
    "lc8jBW75omXLK36GhxaobH8D/QDPLi1AzfMrFljO9oUWKGL/hn27xWnJrhAb5E3tKnsKMl"
    "yVmcuCSY5Wdu9FoipTvg2bAhXtAHdvvpdI2I/as7DjT0p6LYDKOSVlCUV9RLF4Xsy3O5hx"
    "YDTMVdOCEpsJa9sjysrd1n2fuyy1/+2mqdnJy1jk9Ozz+3z84+nx+fs7rBG5eLztZwoTf4"
    "ZTCc5hnAMwSwG6bvuhCbq6a9rNyK1L1tfNdjnequ10Tyz2sI/nml3J8Xxd4kztKGHJGy6B"
    "NiQ4CrJn0ZugLYbG1tvyXam67a6w9WvdHoOjdO9QYFiR7e3fT6TNUEiLNKiFYIOiZUoF6m"
    "bCUpBjiu30iQo6WeLKpl3XSg/9s0h3Asqx9uur/9nJsNXI+Gv8TVMwy4uB71ikIdjUQNpm"
    "UF0h3MzfaIF/s2NUuYdb8yXKasmg4fonYk7nd6lz5w3csma2GCzcL4GpxNwfhlhicrj0Kn"
    "o4VXOeZXIcY24N9guBB47GISa0ueiduTmXdDQq8gtBkrvrLX72j5+xkekinTKzyfX2d4xA"
    "3LHS24yMtJysaxTUa3dW1IzD1pRzwLeQ7yvEZDXpFWjXkyj3lWuHCOOs0mfa5MqXpao54W"
    "oegxZIO3bcSDLLXiQ4M5PhNj2myKn6NU1lep1Z2/tBqyOU+p2Cw1m7OhBXX9jlka5XcsqE"
    "fiWhs7xrM0rwtoKRRBSjx5aMf8URh2EEBVxvaKuBAt8K9wVVq8FgCNYpVGcTt7iWmamz7f"
    "Bd+SYJicRLGPZ58MQ/voRXdy0b3s62UlsANQ+3E7+9nzX0Q1q/hyqI6ZHh4PLqZhVNI9MB"
    "+/AdcyKmT4AXmUuAKfSy8ivPp1DMMlejXWUbDdl7StAwE9gJC0SAa6HKjlIqflFHMABovg"
    "k/iz+ZPEqFUHMWZwfTGW0cgw9O1iGuOHh+K424BD9gEkUB8qQG9vA/Q2n7irCfseTNiTrr"
    "lBF8rSbNGR9sfwscF8PcRmGydWvgWp4x9e8l91LQdhVsovMzwxH6Dl29wLkiTl9HEBU2wP"
    "rM3AbeyBb8U8PjPh4V7hlTGrZuiYKFAsigIbLdmnWUlQWHiblI65rfQpUx5ncLGJolC46E"
    "TJJJe97x22gmizYg53s1HI2IIXnDZzEzw1dIcEzwuTkYD2XeCFz0pumgheq11D8FrtSsHj"
    "RXnBm7vEMbYLVCw0IbFJWgUr6mxg3o7buQYUr2XmtQUpQPZGTqaEQmLOSutYyi9o685t81"
    "TKHL3efJrZfbmlrS+z2XM/gX3R2peXLLEVtdrc95pWrNDOKjBeJQbYaptVYut9O0vVzrfH"
    "KsvSu1qW1F7FXe9VXBJ3UydslkYBqjZ//r/ZQdXmz4Nm74Fs/oztppZghZ2UpeZVobVOjt"
    "Uw7xOeTTYdpgpkaqQqjlQcm3DYibVOWeArBqsyqcz269rA5iX5pFVDkk9alZLMiwSQ84Gg"
    "EeBZQgV3DbhNsAQmooJwl8r93VmSQ9ri3frUPmufn5y2k53dSc66Dd3lPa2BJAaQNB0gsw"
    "3ILMb6CNuIm4fD6wyP5vMoI0zIMTqCBTS4I6fMj4kDbLtS0rN0hyTpJ62z00TI+c06+Z7c"
    "dK+vy0LOsaGkCaIhlcKz4M/wXSB2k1eCmSU5JDh3pojV4SXq8JK3GgklOrxkCVYOD4V2IM"
    "NLsB6siX+pFanxvwAej5Riv5LMOSyLe082jQXMUalowIJg+/c2MgUKfd2RPClRs/N49gfJ"
    "HR7LY8MnKAiuqKc5EmKJ4yz0Ll51NPYzwz24QBjzOMo4NcM30EK+09HC6wzfuqSjsR85dA"
    "u00QLdI1u4bq/Ho0ITUnOKnwfS5YeA3EDMWYJn+CtxeDq4yMETtfG6icraO8+H2nh9sGwu"
    "BWbV2S0YhSEJfGENtgvuL9Pfdp/gkFA0RyaIXrYUaJUrP1oXb4WLNXcadlXcBuj64S4UF5"
    "poiaLdqn+sC87C8JlHPFDoLLeMy9K+fumP+1roe9X+rv0URQT/VNpemHu7o9z4pMLC9jYs"
    "TMXvvsKCNO7QdX2UcX2ZLSkNXZPtOkasdrUVq10yYxX1UF2ZLdIpqa0EdpuNleVWZJbqFz"
    "ZXyrGGPJCwqvWMKG9JmjAh6mj8d4avAArCq8LrDPefl8jlGVFCDkZFMzIBq6o9nxmS9/Ut"
    "HW+h8nfsoCtOb0twrl9SC8jVulq6dXWW4U/ARpbhYyrauree2QVSdRyrzHy2gUcN6LpEcB"
    "pY9Q7NPJXENumd8FQd/ykNK/ate3l82t1gA01KptSnzPxlfbFJH86QKf7Kxt8N3AuvaTsP"
    "j9YUGM2TMzdfPlEvOebzXf4jWNmjD8Eerf6hdrehUVG03jbbDoptSG1GSuP9+K48N9iR50"
    "piHsqHTm4o5UJiFQkoRng7i2m5FalFvmw5vQWICT7/LVtOZQuIVUtTNbVVkTPvHDkzZvj0"
    "fPMRCg8oypSuXQdwlI37tOJrrgIqp+mPsCL4VaxEouq7UfAvT9HfzO9+WufUzNPqUzNPo1"
    "Mzq2fqlDxCLOimVzYBFYbclKSA95zT7G9nFWF8ObrrXfe123H/YjAZjIZ5lRwU8qw02n7c"
    "716XPPJzZFf9M+sanAt0CuwqsCUxvnShi8wHkeqNStaqXZDWeReNK1rHVPq7hesWgac70p"
    "zyatuduLyrtesTdL3K07ErPKEpiczrlYYDWuvz5xojGqtVfRA0LysEbLBOtQHCUfUDRPfT"
    "8XGdhd3xcfXKjpcVlnYEU+F/FP1zMhpWrOlSkuKCDplU+69mI+/Axi4ORm4VV3L4Fn27R/"
    "nlGW+g996D2Y//ARVlcag="
)
