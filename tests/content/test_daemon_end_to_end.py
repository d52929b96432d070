"""The real dagster-daemon on a temporary instance and SQLite database: a chat message reaches
Redis user_topic:{user_id} through the capture trigger, chat_messages_sensor and a chat_messages_job run."""

import json
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.content.tables import chat_message
from resources.cache import CacheResource
from tests.content.conftest import REDIS_URL, seed_taxonomy
from tests.support.daemon import DagsterDaemon, embedded_env, prepare_home, wait_for


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_message_reaches_user_topic_in_redis_through_the_daemon(tmp_path):
    env = embedded_env(tmp_path, REDIS_URL=REDIS_URL, CONTENT_QUIET_SECONDS="2")
    prepare_home(env)
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    seed_taxonomy(engine)
    client = CacheResource(url=REDIS_URL).redis()
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    daemon = DagsterDaemon(env, tmp_path / "daemon.log")
    try:
        with daemon:
            # The sensor's first tick starts the cursor (and sees nothing); then the message arrives.
            time.sleep(8)
            with engine.begin() as conn:
                conn.execute(insert(chat_message).values(user_id=user, text="Я чувствую стресс на работе", created_at=datetime.now(timezone.utc)))
            started = time.monotonic()
            value = wait_for(lambda: client.get(f"user_topic:{user}"), 120, 0.2, f"user_topic:{user} in Redis")
            latency = time.monotonic() - started
            assert json.loads(value)["topic"] == "stress"
            assert 3000 < client.ttl(f"user_topic:{user}") <= 3600
            print(f"message -> user_topic in {latency:.1f} s")
    except Exception:
        print(daemon.log()[-5000:])
        raise
    finally:
        client.delete(f"user_topic:{user}", f"recommendations:{user}")
        client.close()
