-- Bounds on what is kept for a user (hardening round 3): Idempotency-Key answers go into a ring of
-- IDEMPOTENCY_MAX_KEYS_PER_USER slots per user (a new answer replaces the user's oldest), counted by
-- user_changes.idempotency_seq. Adding a nullable column and a defaulted one rewrites nothing.
ALTER TABLE "idempotency_keys" ADD COLUMN "slot" integer;--> statement-breakpoint
ALTER TABLE "user_changes" ADD COLUMN "idempotency_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "idempotency_keys_user_slot_idx" ON "idempotency_keys" USING btree ("user_id","slot");