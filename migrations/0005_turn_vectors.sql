CREATE TABLE "turn_vectors" (
	"tenant_id" text NOT NULL,
	"session_id" text NOT NULL,
	"model" text NOT NULL,
	"sequence" integer NOT NULL,
	"scale" real NOT NULL,
	"vector" text NOT NULL,
	CONSTRAINT "turn_vectors_tenant_id_session_id_model_sequence_pk" PRIMARY KEY("tenant_id","session_id","model","sequence")
);
--> statement-breakpoint
ALTER TABLE "turn_vectors" ADD CONSTRAINT "turn_vectors_session_fk" FOREIGN KEY ("tenant_id","session_id") REFERENCES "public"."sessions"("tenant_id","id") ON DELETE cascade ON UPDATE no action;