from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Hand-edited: aerich leaves the field's db_default out of ADD COLUMN; without DEFAULT 0 a
    # NOT NULL column cannot be added to a table with rows (and differs from the models).
    return """
        CREATE TABLE IF NOT EXISTS "calendar_feed" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" UUID NOT NULL UNIQUE,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL
);
        ALTER TABLE "event" ADD "revision" INT NOT NULL DEFAULT 0;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "event" DROP COLUMN "revision";
        DROP TABLE IF EXISTS "calendar_feed";"""


MODELS_STATE = (
    "eJztXW1z4jgS/isuf9nZqtxUhmSSHHV3VUDIDrsJTAG52dpjy6XYAnSxZdaWM0nNzX8/ya"
    "+yLRNjSCIYfcGypJbtp1stqdVqvumOa0Hbf9913XuEF3pb+6Zj4ECaKBYdaTpYrbIClkHA"
    "nR3WveMq3fnEAyah2XNg+5BmWdA3PbQiyMU0Fwe2zTJdk1aMHhpnBRj9FUCDuAtIltCjBf"
    "/5k2YjbMFH6LPbb/ocQdsK03rgQ89AFnuoT4BHDEB0Vh8+rjzo+/RpftJE/E3xc8jTKnxr"
    "PaxM3za8+X6k5Zo3XWAuX7B9+AAxydongb/L1uMW+XdnUFov8wyIrd08gVVc3RvhQ3LSGO"
    "EU5hsJ7e3t4PIqrMnk6c4wXTtwcFZ79USWLk6rBwGy3jMaVraAGHqAQIuTU/ZqsUQnWZFI"
    "0gziBTCVRSvLsOAcBDaTdv0f8wCbTMi18Ens5/Rf8atx1QxjOJoak/7UMPQNOodJoaQwIU"
    "wYot++R+1mgIS5OntA71Nn/O7k7OcQAtcnCy8sDOHSv4eEgAAjY2SGMtel6kLNkewS7yQj"
    "AzzTJgmUCViSwZvByauQunjyNArQAqC8LssDekmhIMiBYlB5ugKoVkz4PkkcFrjTwU1/Mu"
    "3cfGbNO77/lx2i1Zn2WUkrzH0q5L6LeOHSYTwa3tNGtC+D6SeN3Wp/jIb9IsfSetM/2GCh"
    "g4C4Bna/GsDiMUmyk6wci7OhZBMGZ1SKvVKzN5sz5NnbWwKvjwMnZO+Afj7AJhT145i6wG"
    "YKlzyM1TumCVf0LdpakprhMfwvNMO8JDXDn6nYUsa3tTgxwz322TarlaRmeIAvkb8KCGxr"
    "aXKWJC5dTPO5G72WSOkOeDRsiBdkSW8/nK0RsX93xqGG/lAUm2Fc0gqL8op65aGIfXkud9"
    "FigIm4C6ckBdbSV5aHtbX7LH1fevnb31utk5Pz1vHJ2cXH0/PzjxfHF7Ru+MblovM1XOgO"
    "fhkMp3kGsAwB7IYZeB7E5lPTXlZuRereNr7t0k51220i+Rc1BP+iUu4vimJvus7KhgyRsu"
    "i7rg0Brpr0cXQFsOna2n5NtDddtdcfrLqj0XVunOoOChI9vL3p9qmqCRGnlRCpEHTsEoF6"
    "mdKVpBjgpH4jQY6XerKolnXTgf7v0xzCiay+u+n8/nNuNnA9Gv6SVOcY0LsedYtCHY9EDa"
    "ZlBdIdzM32iBf7NjVLmXX3ZHhUWTUdPkTtSNzv9A5ZMt1LJ2tRgs7C2BqcTsHYZYYnTz6B"
    "TluLrnLMryKMbcC+wfAg8OnFdK0teSZuT2beDV1yBaFNWfGFvn5by9/P8NCdUr3C8tl1hk"
    "fMsNzWwou8nCR0HNtkdFvXhsTck3bEs5DvIN9vNOQVadWYJ/OYZ0UL57jTbNLnypSqpzXq"
    "aTGKPkU2fNtGPOCpFR8azPGpGJNmU/wcpbK+Sq3ugpXVkM15SsVmqdnMuxbU3XfkadS+Y0"
    "E9up618cY4T/OygJZcEaTEk7l2zO+FbgchVGVsr1wPogX+DT6VFq8FQGNfpVHSzl5imuVm"
    "z/fA19QZJidR9OPpJ8PIPtrrTHqdy75eVgI7ALWftLOfPf9ZVHnFl0N1TPXweNCbRl5Jd8"
    "C8/wo8y6iQ4SXyiesJ9ly6MeHVb2MYLdGrsY6d7T5lbR0I6CGEbsvloMuBWi5yWk4xB2Cw"
    "CD+JPZs9SYxatRMjh+uzvowGx9DX82lMHh6J424dDukHuKH6UA56e+ugt/nEXU3Y92DCnn"
    "bNDboQT7NFR9ofw8cG8/UIm202sfItSO3/8Nz+VcdyEKal7DLDE3MJrcBmuyBpUs49LmCK"
    "7YG1GbiNPfC1mMdmJszdK7pSZtV0HRM5isVeYKMV/TQrdQqLbtPSMbOVPnDlSQYTm9gLhY"
    "lOnExz6fveYiv0NivmsG02Ailb8ILRcjfhU6PtkPB5UTIW0L4H/OhZ6U0TwWud1hC81mml"
    "4LGivODNPdcxtnNULDQhsUlaOSvqdGDejtu5BhSvZea1BQlA9kabTCmFxJyVdmMpv6CtO7"
    "fNUylz9HrzKXf6cktbH3fYcz+Bfdbal5cssRW12tz3klasHqBqzwLeFYR5y4qo/GidBcuM"
    "axrzpOpL2q+URUgd2ayJt5SKNT8TvIfYWAJ/KZ4KivHMU+1mufmmYOYnYWd1Flhn1Quss9"
    "ICS3mbNJqf7YNVszRNeZvBNNq0FIyi6W5m9fCZbpy+3rbPzmNNqEH5TQdldfB/1wf/V663"
    "qUcTT6MAVZEUfoThV0VS+GHYeyCRFJJNSEtgrk7Lsr1K4daXHKZl1id82910mCqQqZGqOF"
    "IxbKJhJ9E6dRfmAlKZN4Mbrs9PWjUk+aRVKcmsSAA5GwgaAc4TKrhrwG2CFTAREfiOVgZL"
    "4UkOKV5K68Pp+enFydlpGiYlzVkXHaUcICKUxBCSpgMk34DMYqyPsI3YXmt0neHRfB5nRA"
    "k5RkewgAbziijzY+IA266UdJ7ukCT9pHV+lgo5u1kn35ObzvV1WcgZNsRtgmhEpfAsOAcE"
    "HhD7nFWCyZMcEpw7U8QqEpiKBPZaI6FEkcBW4Mlh54ocSPESrAdr4l9qRWr8e8BnbsfxRq"
    "gEcw7LYrsnmzrW56iUa31BsIM7G5kChb4uvl1G1Cy43f4gucMYdzZ8gAJPxXqaIyWW2GlR"
    "7+CntkZ/ZrgLFwhjdighSc3wDbRQ4LS16DrDnz23rdEfOXQLtNEC3SFbuG6vx6NCE1Jzig"
    "XX6rCIWjcQM5bgGf7iOiwdXuTgifIraaKy9m7nQ0Ux+SHY7MEH5G+2GudJ3nbxeNych7tY"
    "gW/ghlXyIxfsKTaIYbC/ned1gxcMXYLmyATxy5Yc1nLlR+v81nCx5k7d14qxCbwgOhrrQR"
    "OtUBxC4891Tm4YPjLPEQKd1Zb+bdqXT/1xX4v2sLV/aj/Fx5R+KsU8yL3dUW6cV+51e+te"
    "pw4VvcDCPunQdfd6k/oyW6QabvGe1jEGnlZbA09L5sCiHqors0U6JbWVwG4T7aHcisxS/U"
    "zEBznW4gfinraeEeVz0hMqRG2N/c7wFUChm1p0neH+4wp5LCNOyMGoeEYmYFX1DjJH8kMv"
    "s3J/SVKY3pbgXG+aEJAr+4TU9okHYCPLCDARxRNYz+wCqYoRLzOfbeATA3qeKwhRWh02Ik"
    "8lsW1/JzxVMcmlYcW+dS+fTbsbHETKyJT6lJm/tC826cMcmeKvbPyV5JR3FO9bYDRPA4E/"
    "H+Y3jT3+eqe9ufgbyh59CPZoeWKwyKvXNnExi70etzm+UWxDajNS5jfJTjd64clGTxLzUN"
    "4FdUMpFxIrj0oxwttZTMutSC3yZcvpZ4Co4LPfsuVUNsditTRVU1vlOfPGnjNjik83MO+h"
    "MNATV7p2HcBQNu6yim8SKvEeVjgRi5VIXF1Fmiso6iTSXPVMPQzVJ+imV7YLKgy5GUkB7z"
    "mj2d/OKsL4cnTbve5rn8f93mAyGA3zKjksZFnZqYVxv3Nd2pGfI7vq7+LX4FygU2BXgS2J"
    "8aUDPWQuRao3LlmrdkFWR5rgtJX73cJ1i2CnO9ac8mrbnWx5V2vXB+iJHbarhzKOROb1Ss"
    "MBrfXxY40Rjdaq/ncKVlZw2KCdagOE4+oHiO6H4+M6C7vj4+qVHSsrLO1cTIR/nPjrZDSs"
    "WNNlJMUFHTKJ9j/NRv6BjV0MjNwqrrThW9zbPcovz1gD3bcezL7/H9zaMJs="
)
