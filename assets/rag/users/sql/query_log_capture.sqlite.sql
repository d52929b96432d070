-- Query log capture (SQLite): every rag_query_log insert becomes, in the same transaction, a
-- query_result row in notification_outbox (Idempotency-Key query_result:<log id>) and a stats-queue
-- row. Timestamps in the format SQLAlchemy writes (UTC), so they compare with the platform's own.
-- Re-running this script replaces the trigger (idempotent).
DROP TRIGGER IF EXISTS rag_query_log_capture;

CREATE TRIGGER rag_query_log_capture AFTER INSERT ON rag_query_log
BEGIN
    INSERT OR IGNORE INTO notification_outbox
        (kind, payload, idempotency_key, status, attempts, next_attempt_at, created_at)
    VALUES (
        'query_result',
        json_object(
            'user_id', NEW.user_id, 'conversation_id', NEW.conversation_id, 'message_id', NEW.message_id,
            'query', NEW.query, 'answer', NEW.answer, 'sources', json(NEW.sources),
            'tokens_used', NEW.tokens_used, 'processing_time_ms', NEW.processing_time_ms),
        'query_result:' || NEW.id, 'pending', 0,
        strftime('%Y-%m-%d %H:%M:%f000', 'now'), strftime('%Y-%m-%d %H:%M:%f000', 'now'));
    INSERT OR IGNORE INTO rag_stats_pending (log_id, user_id) VALUES (NEW.id, NEW.user_id);
END;
