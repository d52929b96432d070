-- Query log capture (PostgreSQL): every rag_query_log insert becomes, in the same transaction, a
-- query_result row in notification_outbox (Idempotency-Key query_result:<log id>) and a stats-queue
-- row. A transaction that commits late commits its outbox rows with it: nothing to miss, no cursor.
-- Statement-level with a transition table: a bulk insert costs one INSERT ... SELECT per table.
-- Re-running this script replaces everything (idempotent).
CREATE OR REPLACE FUNCTION rag_query_log_capture() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
BEGIN
    INSERT INTO notification_outbox (kind, payload, idempotency_key, status, attempts, next_attempt_at, created_at)
    SELECT 'query_result',
           json_build_object(
               'user_id', n.user_id, 'conversation_id', n.conversation_id, 'message_id', n.message_id,
               'query', n.query, 'answer', n.answer, 'sources', n.sources,
               'tokens_used', n.tokens_used, 'processing_time_ms', n.processing_time_ms),
           'query_result:' || n.id, 'pending', 0, now(), now()
    FROM new_rows n
    ON CONFLICT (idempotency_key) DO NOTHING;
    INSERT INTO rag_stats_pending (log_id, user_id)
    SELECT n.id, n.user_id FROM new_rows n
    ON CONFLICT (log_id) DO NOTHING;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS rag_query_log_capture ON rag_query_log;

CREATE TRIGGER rag_query_log_capture AFTER INSERT ON rag_query_log
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_query_log_capture();
