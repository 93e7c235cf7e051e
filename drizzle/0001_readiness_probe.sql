CREATE TABLE "readiness_probe" (
	"pad" text
);

--> statement-breakpoint
-- Kept inline and uncompressed, so a 7 kB probe row needs a page of its own.
ALTER TABLE "readiness_probe" ALTER COLUMN "pad" SET STORAGE PLAIN;
