ALTER TABLE "memories" ADD COLUMN "origin" text DEFAULT 'written' NOT NULL;--> statement-breakpoint
ALTER TABLE "memories" ADD COLUMN "source_sequences" integer[];--> statement-breakpoint
ALTER TABLE "memories" ADD COLUMN "valid_from" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "memories" ADD COLUMN "valid_to" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "memories" ADD COLUMN "superseded_by" uuid;--> statement-breakpoint
ALTER TABLE "memories" ADD COLUMN "ended_in_session" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "learned_through" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_superseded_by_memories_id_fk" FOREIGN KEY ("superseded_by") REFERENCES "public"."memories"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "memories_ended_idx" ON "memories" USING btree ("tenant_id","ended_in_session") WHERE "memories"."ended_in_session" IS NOT NULL;--> statement-breakpoint
UPDATE "memories" SET "valid_from" = "created_at";