-- The run event log: every run event (run-lifecycle) is written here in the transaction of
-- the change it announces, so a listener that lost its LISTEN connection reads what it
-- missed instead of losing it. Rows are kept for a bounded time (pruneRunEvents).
--
-- "seq" orders events by commit: it is drawn at commit, by a deferred trigger, under a
-- transaction-level advisory lock held until the commit is visible. So when a listener sees
-- seq N, every event with a smaller seq is already committed (or rolled back, a gap for
-- good), and "replay everything after the last seq I saw" misses nothing. The trigger also
-- sends the NOTIFY, as "<seq>|<event json>", in the same order.
CREATE TABLE "RunEventLog" (
    "id" BIGSERIAL NOT NULL,
    "seq" BIGINT,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RunEventLog_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "RunEventLog_seq_key" ON "RunEventLog"("seq");
CREATE INDEX "RunEventLog_createdAt_idx" ON "RunEventLog"("createdAt");

CREATE SEQUENCE run_event_seq AS BIGINT;

CREATE FUNCTION run_event_publish() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  next_seq BIGINT;
BEGIN
  -- 0x52554e45 ("RUNE"): one key for every writer of run events.
  PERFORM pg_advisory_xact_lock(1381322309);
  next_seq := nextval('run_event_seq');
  UPDATE "RunEventLog" SET "seq" = next_seq WHERE "id" = NEW."id";
  PERFORM pg_notify('run_events', next_seq::text || '|' || NEW."payload");
  RETURN NULL;
END
$$;

-- Deferred to commit: the lock is taken after every row lock of the transaction, so it
-- cannot join a deadlock, and is held only for the commit itself.
CREATE CONSTRAINT TRIGGER "RunEventLog_publish" AFTER INSERT ON "RunEventLog"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION run_event_publish();
