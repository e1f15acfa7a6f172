from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "booking_history" (
    "id" UUID NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "actor_id" UUID,
    "actor_role" VARCHAR(16) NOT NULL,
    "action" VARCHAR(24) NOT NULL,
    "from_status" VARCHAR(16),
    "to_status" VARCHAR(16),
    "detail" TEXT,
    "booking_id" UUID NOT NULL REFERENCES "booking" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_booking_his_booking_659bd4" ON "booking_history" ("booking_id", "at");
CREATE INDEX IF NOT EXISTS "idx_booking_his_actor_i_a423e4" ON "booking_history" ("actor_id");
COMMENT ON COLUMN "booking_history"."actor_role" IS 'Athlete: Athlete\nCoach: Coach\nAdmin: Admin\nScheduler: Scheduler\nSystem: System';
COMMENT ON COLUMN "booking_history"."action" IS 'Booked: Booked\nAccepted: Accepted\nRejected: Rejected\nCanceled: Canceled\nDisputeOpened: DisputeOpened\nDisputeResolved: DisputeResolved\nCompleted: Completed\nCompletionUndone: CompletionUndone\nNoteChanged: NoteChanged\nDismissed: Dismissed\nCoachErased: CoachErased';
COMMENT ON COLUMN "booking_history"."from_status" IS 'Accepted: Accepted\nRejected: Rejected\nPending: Pending\nCanceled: Canceled\nInDispute: InDispute\nDisputeDone: DisputeDone';
COMMENT ON COLUMN "booking_history"."to_status" IS 'Accepted: Accepted\nRejected: Rejected\nPending: Pending\nCanceled: Canceled\nInDispute: InDispute\nDisputeDone: DisputeDone';
        ALTER TABLE "booking" ADD "dispute_reason" TEXT;
        ALTER TABLE "booking" ADD "dispute_resolution" TEXT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "booking" DROP COLUMN "dispute_reason";
        ALTER TABLE "booking" DROP COLUMN "dispute_resolution";
        DROP TABLE IF EXISTS "booking_history";"""


MODELS_STATE = (
    "eJztXW1v2zYQ/iuCPnVAV6TO64xhgJ04rdfELhJnLToPAiMxNleJ9CSqrdH1v4+k3iiJcm"
    "TZTWlPXyyK5JHSc0fyeLyTv5oecaAbvOgT8hHhmdk1vpoYeJAlikXPDRMsFlkBz6Dg3hV1"
    "76VK9wH1gU1Z9gNwA8iyHBjYPlpQRDDLxaHr8kxis4pRp3FWiNE/IbQomUE6hz4r+PMvlo"
    "2wA7/AgN9+NR8QdB2RNsMA+hZyeKcBBT61ADV5ffhl4cMgYL0FSRPxO8X90OVCPLUpKrOn"
    "FTffnhu55m0C7Pl3bB9+gphm7dMw2Kh1XnHx0RId5PgY9SDyrYT27m54cSlqck7cWzZxQw"
    "9ntRdLOic4rR6GyHnBaXjZDGLoAwodicP80WJZSLIiZrIM6ocw5aKTZTjwAYQulxPz14cQ"
    "21w8DNET/zn6LX40qZpljcYT63YwsSxzDbGyGZQMJoQpR/Trt6jdDBCRa/IOzl/3bp4dnv"
    "wkICABnfmiUMBlfhOEgAIrY2KGsiSMdaGWSLaJd5KRAZ6NwwTKBCzN4M3glAdfXTxlmhbQ"
    "AqDpDFYC9IJBQZEH1aDKdAVQnZjwRZLYL3Anw+vB7aR3/ZY37wXBP65AqzcZ8JKOyF0Wcp"
    "9FvCBsAYwWxrQR491w8trgt8aH8WhQ5Fhab/KBLxQmCCmxMPlsAUfGJMlOsnIshthpwOCM"
    "qmWv1uyNdYQSe8/nwB/g0BPsHbLXB9iGqnEcUxfYzODSh7Fmz7bhgj1F10hSU3wD/4a2yE"
    "tSU/yWiS1jfNeIE1N8zl/b5bWS1BQP8QUKFiGFXSNNTpPEBcEsX7oxa4mU6YEvlgvxjM7Z"
    "7cuTFSL2R+9GzNAvi2Iziks6oig/US98FLEvz+U+mg0xVQ/hlKTAWvbI+rC29phlz8suP/"
    "/S6RwennYODk/Ojo9OT4/PDs5YXfHE5aLTFVzoD18NR5M8A3iGAnbLDn0fYnvZdJSVW9F6"
    "tN3c9dmguus3kfyzGoJ/Vin3Z0Wxt4m3cCFHpCz6hLgQ4CqlT6IrgM12pe5Tor3ufrf+Yt"
    "Ufj69y61R/WJDo0d11f8CmGoE4q4RohaBjQhXTy4TtJNUAJ/UbCXK81dNlalmlDgzeT3II"
    "J7L67Lr3/qecNnA1Hr1KqksMOL8a94tCHa9EDdSyAukWdLMd4sWuqWYps+6Xls8mq6bLh6"
    "odjced2aNzPvcyZS1KMC2M78GZCsYvU3y7DCj0ukZ01UO/ijB2AX8Hy4cgYBebOBvyTN2e"
    "zrwbEXoJoctY8Y49ftfI30/xiEzYvMLz+XWKx9wk2zXERV9OUraOrbO6rWpDY+5pu+I5KP"
    "BQEDRa8oq07Zqn85rnRBvneNCsM+bKlO1IazTSYhQDhqx42kY8kKlbPjTQ8ZkY02Yqfo6y"
    "tb5qPd2FC6chm/OULZu1ZrN8KF/33FGmac8dC9Mj8Z21D8Zlmu8LaMkVQUs8uWvHw0el24"
    "GAqoztJfEhmuE3cFnavBYAjb18xkk7O4lplpv174PPqTNMTqLYy7NXhpF99Lx3e967GJjl"
    "SWALoA6SdnZz5D+Kqjzx5VC9YfPwzfB8Enkl3QP742fgO1aFDM9RQImvOHPpx4SXb25gtE"
    "Wvxjp2U3udtbUnoAsISYdI0OVALRd5Ha+YAzCYiVfiffOe1KhVu/9JuD7qBWhJDH06b8Ck"
    "80gct+uqx16AiOmjddDbWQe99RX3VmHfAYU9HZprDCGZZoOBtDuGjzX09QibTQ6x8i1o7f"
    "/w2PlVz/EQZqX8MsW39hw6octPQdKknmdcwFbbA2szcBN74FMxj2sm3N0rujJm1XQdUzmK"
    "xV5g4wV7NSd1Cotu09Ibbiv9JJUnGVxsYi8ULjpxMs1lz3uHHeFtVszhx2wUMrbgGaeVbk"
    "Sv0XGI6C9KxgI68EEQ9ZXeNBG8zlENwescVQoeL8oL3oNPPGszR8VCExqbpFtnRZMtzJtx"
    "O9dAy2udee1ACpC71iFTSqExZ7U9WMpvaOvqtnmq1hy92nwqxS1uaOuTwiR3E9hHrX15yV"
    "JbUavNfd/TihXZWRXGq9QAW22zSm29T2ep2npgaWtZ+qGWpTZWcduxigvir3sIK9O0gLbB"
    "n/83O2gb/LnX7N2T4M/EbuoodthpWWZeVVrr9NgN8zERuGTdZapA1q5UxZWKYxMtO8msUx"
    "b4isWqTKqz/bo2sHlJPuzUkOTDTqUk8yIF5HwhaAS4TNjCXQNuGyyAjajC3aUyvlsm2acQ"
    "787Lo9Ojs8OTozSyO81ZFdBdjmkVkiggabpAyg3oLMbmGLuIm4ej6xSPHx7ijCihx+oIZt"
    "DiBzllftx6wHUrJV2m2ydJP+ycnqRCzm9Wyfftde/qqizkHBtKmiAaUbV4Fs4zQh+oj8kr"
    "wZRJ9gnOrU3E7cdL2o+XPNVKqNHHSxZg6XFXaA8yvBT7wZr4l1rRGv9zEHBPKfaric7hOP"
    "z0ZF1fwBxV6w1YEOzw3kW2YkJf9UmejKjZ93h2B8ktfpbHhZ+gwrmi3syREmvsZ2H28LJr"
    "sJ8p7sMZwpj7USapKb6GDgq9rhFdp/itT7oG+9FjboEumqF75Cr37fV4VGhCa07x74H0+E"
    "dAriHmLMFT/I54PC0uevCkDbxuMmXt3MlHG3i9t2wuOWbViRaM3ZAUZ2ENwgV3l+lPGycY"
    "hQcrPKzSuOHHowLTUOUf8g8B0pzfulrtrKtV+5X97W7vYovDJkcnxTZ2xGbBPQt84VXga+"
    "JRkDf/rCnlSuLWmqFGeDNnmnIrWot8OSDlLUBM8PnvFF8CJJxroisfFHoZ9dpNXpMx0Wr/"
    "rfa/Re2/B31kz02F+h+XrNT/QVbneyr+a2nmlaeRyoVTcRQZr4+baeTaH+xWK+KfoB9Uhp"
    "iroZVIdF4wGzqKdY6P6wRTHx9XR1PzssKRFhtUayAcV99DdF8eHNTRLA4OqlULXlb8ywlM"
    "lR/6+v12PKoK20lJihoFsqnxr+GiYBfdFlaAy8HIqRGl2NZiGGtBP+AN9FVhmE8ZLPjtP+"
    "7sAUc="
)
