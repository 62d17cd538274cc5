CREATE TABLE "evaluations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"request_id" text NOT NULL,
	"session_id" text NOT NULL,
	"agent_id" text,
	"strategy" text NOT NULL,
	"variant" text NOT NULL,
	"overall_score" real NOT NULL,
	"task_success" boolean,
	"validation_blocked" boolean,
	"tool_errors" integer DEFAULT 0 NOT NULL,
	"token_count" integer NOT NULL,
	"overflow" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_flows" (
	"tenant_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text,
	"model_calls" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_flows_tenant_id_agent_id_id_pk" PRIMARY KEY("tenant_id","agent_id","id")
);
--> statement-breakpoint
CREATE TABLE "traces" (
	"tenant_id" text NOT NULL,
	"request_id" text NOT NULL,
	"session_id" text NOT NULL,
	"agent_id" text,
	"model_call_id" text,
	"strategy" text NOT NULL,
	"variant" text NOT NULL,
	"source" text NOT NULL,
	"token_count" integer NOT NULL,
	"overflow" boolean NOT NULL,
	"steps" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "traces_tenant_id_request_id_pk" PRIMARY KEY("tenant_id","request_id")
);
--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_session_fk" FOREIGN KEY ("tenant_id","session_id") REFERENCES "public"."sessions"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_flows" ADD CONSTRAINT "task_flows_agent_fk" FOREIGN KEY ("tenant_id","agent_id") REFERENCES "public"."agents"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traces" ADD CONSTRAINT "traces_session_fk" FOREIGN KEY ("tenant_id","session_id") REFERENCES "public"."sessions"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "evaluations_strategy_idx" ON "evaluations" USING btree ("tenant_id","agent_id","strategy","variant");--> statement-breakpoint
CREATE INDEX "traces_created_idx" ON "traces" USING btree ("created_at");