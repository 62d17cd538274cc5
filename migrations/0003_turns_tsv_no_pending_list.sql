ALTER INDEX "turns_tsv_idx" SET (fastupdate = off);--> statement-breakpoint
SELECT gin_clean_pending_list('turns_tsv_idx');