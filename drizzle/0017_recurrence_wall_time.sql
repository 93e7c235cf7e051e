-- A recurring task's time of day while its due_at is not it (issue 24: RFC 5545's spring-forward gap).
-- An occurrence at a local time that does not exist that day (02:30 when clocks go from 02:00 to 03:00)
-- is due at the same offset from the day's start as before the gap (03:30); the series keeps its own
-- time (02:30) for the occurrences that follow. The due_at alone cannot tell a moved 02:30 from a
-- series at 03:30 (the same instant), so the series' wall-clock time is kept here, "HH:MM:SS.sss",
-- while due_at is a moved occurrence; null otherwise (then due_at's own local time is the series').
-- Written with due_at by each advance (complete, skip); a write of due_at, time_zone or recurrence by
-- anything else clears it. Adding a nullable column with no default is a catalog change only.
ALTER TABLE "tasks" ADD COLUMN IF NOT EXISTS "recurrence_wall_time" text;
