from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "waitlist_entry" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "event_id" UUID NOT NULL REFERENCES "event" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_waitlist_en_event_i_921582" UNIQUE ("event_id", "user_id")
);
CREATE INDEX IF NOT EXISTS "idx_waitlist_en_event_i_63b337" ON "waitlist_entry" ("event_id", "created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_waitlist_en_user_id_78e187" ON "waitlist_entry" ("user_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "waitlist_entry";"""


MODELS_STATE = (
    "eJztXW1z4jgS/isuvuxuVW4qQ16PursqSMgOOwmkgNxs7bHlUmwBuhiZ9UtmUnPz30+S32"
    "RbJrZxEkH0BduSWjZPt6RWq9X63lrZJrTcDz3bfkB40epo31sYrCC5yWYdaC2wXicZNMED"
    "9xYre88Vunc9BxgeSZ4Dy4UkyYSu4aC1h2xMUrFvWTTRNkjB4KVhko/RXz7UPXsBvSV0SM"
    "Z//iTJCJvwG3Tp4/fWHEHLZPct34WOjkz6UtcDjqcDr0XLw29rB7oueZsbVRH+p/A93tOa"
    "fXWLFSZfyx5+HGhF1Rs2MJbZV9Evi1I8323y1cL3NVg/fITY01/q68Ma81i9yDsgNpt5Ay"
    "24ftDZS1INIcCJpesR7d3d4PKKlaSifK8btuWvcFJ6/eQtbRwX931kfqA0NG8BMXSAB02u"
    "idBPCxtTlBS0BpLgOT6Mm4GZJJhwDnyLNrTWP+Y+Nmj70tib6M/xv8JP44rp+nA01Sf9qa"
    "63KrRLg0BJYELYo4h+/xHUmwDCUlv0BRefuuOfj05/YRDYrrdwWCaDq/WDEQIP6AkjE5S5"
    "5lYWao6kSbyjhATwpCOLoIzAkgzeBE6+CymLJ0+jAM0AyvdlaUAvCRQeWkExqDxdBlQzJP"
    "wQ3ewXuNPBTX8y7d7c0upXrvuXxdDqTvs0p81SnzKpPwe8sIkGEWgWcSXal8H0k0YftT9G"
    "w36WY3G56R90sGgB37N1bH/VgcljEiVHSSkWJ0NJFQYnVIq9UrM30RnS7L1YAqeP/RVj74"
    "D8fYANKGrHIXWGzQQueRjb6hoGXJOv6GjR3QyP4X+hwdKiuxm+JWJLGN/RwpsZvqB/26Kl"
    "orsZHuBL5K59D3a0+HYW3VzamKRzD61SItVagW+6BfHCW5LHj6cbROzf3THroT9mxWYY5r"
    "RZVrqjXjsoYF+ayz20GGBP3IRjkgxrySfLw9rSbZZ8L7n87e/t9tHRWfvw6PT85Pjs7OT8"
    "8JyUZV+czzrbwIXe4NfBcJpmAE0QwK4bvuNAbDzVbWX5WqRubeO7HmlUd706kn9eQvDPC+"
    "X+PCv2hr1aW5Aikhd927YgwEVKH0eXAZtM663XRLuqwaD8YNUbja5T41RvkJHo4d1Nr0+6"
    "GoY4KYS8AkHHtifoXqZkJikGOCpfS5DDqZ4sXcsmdaD/+zSFcCSrP990f/8lpQ1cj4a/Rs"
    "U5Blxcj3pZoQ5HohpqWYa0Ad1sh3ixa6pZzKz7J90hnVXd4UNUj8TtrtX1lrTvJcpacEO0"
    "MDoHJyoYvczw5Mn14KqjBVc59KsAYwvQ/6A7ELjkYtjmljwT1ycz74a2dwWhRVjxhXx+R0"
    "s/z/DQnpJ+habT6wyPqE27o7GLvJz0yDhWZXTbVIfE3JN2xDORu0KuW2vIy9KqMU/mMc8M"
    "Js5ho6nS5vKUqqXVamkhii5Bln1tLR7w1IoP1flAEDSW0PSp2ubZVdYr8pRbrFrsDhcqLF"
    "rwCM0de1UX3YhW4ZvRoEgX7NWbnqYo1cqB1EO1vzZrsjlNqdgsNZt5t5iyvSRPo9bMM92j"
    "7ZiVnTp4mpcFNOdGIyWe1C1p/iB0mWFQ5bG9sh2IFvgzfMoZXjKAhi5+o6iencQ0SU3e74"
    "CvsSNXSqLInyd/GQa2/Yvu5KJ72W/lO4EGQO1H9exmy38WVb7jS6E6Jv3weHAxDTzq7oHx"
    "8BU4RIUUy/ASuZ7tCNYLeyHh1ecxDMxLxViHPqqfkrr2BHQGod22OehSoOazVu1VNgVgsG"
    "B/ib6bvkmMWrHvL4frsy7AOsfQ13MFjl4eiGOzzrLkD9is+1DOpTvrXFpdcVcK+w4o7HHT"
    "rNCEeBplzvghwHObBdh0DVL77jy39to1VwiTXHqZ4UloC3M6Wnwr5/osMMS27NIM3MaW/V"
    "rMo5oJdVUMroRZJd0eRU6OoQfjaE3+mhk7NAaPce6Y2vkfufwogYpN6EFFRSe8jVPJ995h"
    "k3lKZlPoErEHCVvwgtJyD+ytwVIee19wGwpo3wFu8K74YYZvbPZt7EL/eWy6pX8+fqgjoO"
    "3jEgLaPi4UUJqVFlBqTNa3c8bNVCHxsotyyG2RAXw7bqcqULyWmdcm9ACyKi2kxhQSc1ba"
    "xdP0xLesDpymUmbrzWZWbnPzljZBbi/1bgL7rFUwLVlia2uxWfAlrV0XgHR7JnCuIExbYE"
    "T5B5ssXUZYUp9HRV/SzqUsR2pbckm8pexY05rgA8T6ErhLsSooxjNN1cy09E3BTCthp2Um"
    "WKfFE6zT3ARLeaXU0s92wfqZU1PeZjANFjcFo2i86lk8fMYLrK+3PNR4PBU1KL/poKyCWz"
    "Qd3GJtO1U9n3gaBaiKFvIehl8VLeTdsHdPooVMUms/aXP1JFkkim9Fpmg5TMu0TbiWXXWY"
    "ypCpkSo7UlFsgmEn6nXKTswFpDIvGtecnx+1S0jyUbtQkmmWAHI6ENQCnCdUcJeA2wBrYC"
    "BP4GNaGBCIJ9mnmEDtj8dnx+dHp8dxKKA4ZVMEoHwQFCaJDJK6AyRfgcxi3BphC9G11uA6"
    "w6P5PEwIbuQYHcECFuzwm6yAZRVKOk+3T5J+1D47jYWcPmyS78lN9/o6L+QUG9GO1OcRFe"
    "5Gffd4mr4DxL5phWDyJPsEZ2MdsYp2p6LdvdZIKFG0uzV4WtH9RytI8BLMB0vin6tFavwv"
    "gEvdk8OFUAl0DtOkqydVHfBTVMoFPyPY/r2FDEGHvimGY0JUL4Dj7iDZYBxHCz5CgadiuZ"
    "4jJpbYabHVxU8djfzMcA8uEMZ080J0N8M30ET+qqMF1xm+deyORn7k6FughRboHlnCeXs5"
    "HmWqkJpTNIBcl0aNu4GYsgTP8Bd7Re/ZRQ6eKL+SOl3Wzq18qGgn74LNDnxEbrXZOE/ytp"
    "PHw/o8bGIGXsENK+dHLlhTrBHrYHcbTz7IAS+VXwHyLOQKup4qIH0Ja+ljT8WDKOvUNzDh"
    "am171BTxGQrjQWRKHGxy80NJWf0BvkA8iNQJbfQNf25yAYTf1oh0ng0fpOb693RPl4oOsd"
    "PuhPL4+MvR7Wxpwghbe9lF7bC4zJa3mkvZ7ZOTMnunT06KN0/TvMzuafJ+6KwdJIpSVYxy"
    "hmwP0W5+HwXXu1foGtJUqnfIe8aKzk8p71Ynv8fArWMbVA1gO7zje3GgCDksOxYELqwo5z"
    "yNknIRoKbuY0+0G36zFSVLq+woUttRlFX0XbCZm0BWZHOaUrFZajYHjvsFBxptdvzKkNYy"
    "kEq2Etug89cbxoKWDNRmNAwHzn0XVAq1w5FIvBjaSLfzMrF2TIFhoxjuqLzCuhzWkuxtH9"
    "oemiMDhBDljOCp/INNJnCcLdmw/TsdbMfxg6CbDjTQGoXBuTfaxDERXaKVeHC13nJHvPbl"
    "U3/c14IRUPun9lMY2OynnMU89XUHKR1YWdB31oKuwpC9xAjvF8XhLRjeffmj7ta07R6XcR"
    "8+LvYfPs45EGf7obIym6VTUlsI7DZxpPO1yCzVz8SSlsPGuycb2p8xveciq06IEHU0+jvD"
    "VwCxje3BdYb7zDJDEsIbORgVamQCVhXvOeNI3rVjFo9jVr3NwbnZbCcgV7Y7qW13j8BCNd"
    "dcMqTq5GSZ+WwB19Oh49iCw8+KzTFpKmWUqW4AUytd76J5uVTtrhG6LCFT3afM/CVtsU4b"
    "5sgUf2XjryS28+AkUYHRPD5i9PkDBONTTV8vPiznzavs0ftgj1Ye3c1uSg/jJDBEcphWi7"
    "UQ1SG1GSmJtEDjITosFqIjiXkoHbSiopQLiZVrhRjh7Sym+VqkFvm85fQWICL49DdvOZUt"
    "FImamirVVu21feMNpGOCT883HqDwaAgud+M8gKKs3ycF3+Rwpbfcw7aHZ9MUa+rscB9BM7"
    "2ybFBgyE1IMnjPKc3uNlYRxpeju951X7sd9y8Gk8FomO6SWSZNSuIcjfvd67ynKLKsgsFx"
    "A84ZOgV2EdiSGF/SQQ8EPXAuKkJxJxyFYdBhXLZh50V2DFA4AYnm3pt38D8KvQYPmJWkwT"
    "398cdsUaUy/yjzj+SdXYX5sJpc1QF4JyZXqR1uj9XdIXka1W42nyMcH3yX0cCqniIcn7G3"
    "m6A+e4YwL1MynSDchQ4yliLFKszZqFGBpIw0xwUX+hMKG7TAkzBkn7yz2UZcCosVjUfoiE"
    "PoFZsKOBKZ7cE1DQYvEvKGNqoKCIfF9xDdj4eHZQznh4fFlnOal9HubOwJB6bfJqNhgVqX"
    "kGR1OmR42v+0KILfjqG9AVwKRkqRyznUZX3nMvoBreDNdzn++D+7dg7p"
)
