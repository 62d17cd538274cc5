CREATE TABLE "user_histories" (
	"tenant_id" text NOT NULL,
	"user_id" text NOT NULL,
	"agent_key" text NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"last_sequence" integer DEFAULT 0 NOT NULL,
	"total_tokens" integer DEFAULT 0 NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"epoch" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_histories_tenant_id_user_id_agent_key_pk" PRIMARY KEY("tenant_id","user_id","agent_key")
);
--> statement-breakpoint
ALTER TABLE "turns" ADD COLUMN "history_id" uuid;--> statement-breakpoint
ALTER TABLE "turns" ADD COLUMN "history_sequence" integer;--> statement-breakpoint
INSERT INTO "user_histories" ("tenant_id", "user_id", "agent_key", "version")
SELECT "tenant_id", "user_id", coalesce("agent_id", ''), 1 FROM "sessions" WHERE "user_id" IS NOT NULL
GROUP BY "tenant_id", "user_id", coalesce("agent_id", '');--> statement-breakpoint
UPDATE "turns" SET "history_id" = x."history_id", "history_sequence" = x."n"
FROM (
  SELECT t."id", h."id" AS "history_id",
         row_number() OVER (PARTITION BY h."id" ORDER BY s."created_at", s."id", t."sequence") AS "n"
  FROM "turns" t
  JOIN "sessions" s ON s."tenant_id" = t."tenant_id" AND s."id" = t."session_id"
  JOIN "user_histories" h ON h."tenant_id" = s."tenant_id" AND h."user_id" = s."user_id"
    AND h."agent_key" = coalesce(s."agent_id", '')
) x
WHERE "turns"."id" = x."id";--> statement-breakpoint
UPDATE "user_histories" SET "last_sequence" = x."n", "total_tokens" = x."tokens"
FROM (
  SELECT "history_id", max("history_sequence") AS "n", sum("token_count") AS "tokens"
  FROM "turns" WHERE "history_id" IS NOT NULL GROUP BY "history_id"
) x
WHERE "user_histories"."id" = x."history_id";--> statement-breakpoint
ALTER TABLE "user_histories" ADD CONSTRAINT "user_histories_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "user_histories_id_idx" ON "user_histories" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "sessions_user_tasks_idx" ON "sessions" USING btree ("tenant_id","user_id","agent_id","created_at") WHERE ("sessions"."metadata" ->> 'task') IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "turns_history_sequence_idx" ON "turns" USING btree ("tenant_id","history_id","history_sequence") WHERE "turns"."history_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "turns_history_system_idx" ON "turns" USING btree ("tenant_id","history_id","history_sequence") WHERE "turns"."history_id" IS NOT NULL AND "turns"."role" = 'system';