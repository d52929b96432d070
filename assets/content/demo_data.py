"""Deterministic demo data of the wellbeing chat: the bundled taxonomy (12 Russian topics), a library
of 300 items (12 articles, 8 quotes, 5 videos per topic) and a few thousand messages from a few
hundred users over the last three days, composed from phrase templates (not the labelled set)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from assets.content.tables import chat_message, content_item, content_user_state, popular_topic, topic
from assets.content.taxonomy import demo_taxonomy

PHRASES = {
    "stress": ["на работе завал и дедлайны", "начальник давит каждый день", "перед экзаменом всё время нервничаю", "не успеваю ничего, нагрузка огромная"],
    "anxiety": ["постоянно тревожусь за детей", "боюсь, что случится что-то плохое", "опять паника в транспорте", "переживаю из-за каждой мелочи"],
    "sleep": ["не могу уснуть до трёх ночи", "просыпаюсь каждую ночь", "совсем не высыпаюсь", "снятся кошмары"],
    "burnout": ["сил нет ни на что", "кажется, я выгорел на работе", "чувствую полное истощение", "всё надоело, хочу в отпуск"],
    "relationships": ["поссорилась с мужем", "парень ревнует ко всем", "с родителями постоянный конфликт", "думаем о разводе"],
    "loneliness": ["мне одиноко по вечерам", "не с кем поговорить", "после переезда нет друзей", "чувствую себя ненужной"],
    "self_esteem": ["постоянно сравниваю себя с другими", "чувствую себя неудачником", "стесняюсь своей внешности", "не верю в себя"],
    "motivation": ["снова откладываю важные дела", "не могу заставить себя учиться", "бросаю все привычки через неделю", "нет мотивации работать над целью"],
    "grief": ["недавно умер дедушка", "тяжело пережить потерю", "скучаю по ушедшей маме", "годовщина смерти подруги"],
    "anger": ["злюсь на всех вокруг", "меня бесят коллеги", "срываюсь и кричу на близких", "не могу справиться с раздражением"],
    "mindfulness": ["хочу научиться медитации", "ищу дыхательную практику", "как расслабиться после дня", "интересует йога и осознанность"],
    "sadness": ["мне очень грустно", "настроение на нуле", "накатила тоска", "часто плачу без причины"],
}
OPENERS = ["", "Привет. ", "Слушай, ", "Не знаю, что делать: ", "Уже неделю ", "Честно говоря, ", "Добрый вечер. "]
CLOSERS = ["", ".", "...", ". Что посоветуете?", ". Помогите", " 😔", ". Как быть?"]
SMALL_TALK = ["Привет!", "Спасибо за совет", "Как дела?", "Хорошо, попробую", "👍", "ok, thanks", "Какая погода завтра?", ""]
ARTICLE_TITLES = ["Как справиться: {n}", "{n}: что говорят психологи", "Пять шагов: {n}", "{n} — практическое руководство", "Почему так бывает: {n}", "{n}: упражнения на каждый день"]
QUOTES = [
    "Ты не обязан справляться со всем сразу.", "Маленький шаг — тоже движение.", "Чувства приходят и уходят, как волны.",
    "Забота о себе — не эгоизм.", "Сегодня достаточно просто быть.", "Каждый день — новая попытка.",
    "Ты важнее своих ошибок.", "Отдых — часть пути, а не остановка.", "Просить о помощи — это смелость.",
]


def build_demo(users: int = 300, messages: int = 3000, random_seed: int = 3, now: datetime | None = None) -> dict[str, list[dict]]:
    rng = random.Random(random_seed)
    now = now or datetime.now().astimezone()
    taxonomy = demo_taxonomy()
    topics = [{"slug": t.slug, "name": t.name, "description": t.description, "keywords": ", ".join(t.keywords)} for t in taxonomy]
    items = []
    for t in taxonomy:
        for i in range(12):
            title = ARTICLE_TITLES[i % len(ARTICLE_TITLES)].format(n=t.name.lower()) + (f" (часть {i // len(ARTICLE_TITLES) + 1})" if i >= len(ARTICLE_TITLES) else "")
            items.append({"kind": "article", "topic_slug": t.slug, "title": title, "body": f"{t.description} Статья {i + 1}.", "url": f"https://content.example/{t.slug}/article-{i + 1}"})
        for i in range(8):
            items.append({"kind": "quote", "topic_slug": t.slug, "title": QUOTES[(i + len(t.slug)) % len(QUOTES)], "body": f"Тема: {t.name}", "url": None})
        for i in range(5):
            items.append({"kind": "video", "topic_slug": t.slug, "title": f"{t.name}: видео {i + 1}", "body": "", "url": f"https://video.example/{t.slug}/{i + 1}"})
    # Each user has one or two favourite topics; about 10% of messages are small talk.
    favourites = {u: rng.sample(list(PHRASES), rng.choice([1, 2])) for u in range(1, users + 1)}
    rows = []
    for n in range(messages):
        user = rng.randint(1, users)
        if rng.random() < 0.1:
            text = rng.choice(SMALL_TALK)
        else:
            slug = rng.choice(favourites[user]) if rng.random() < 0.8 else rng.choice(list(PHRASES))
            text = (rng.choice(OPENERS) + rng.choice(PHRASES[slug]) + rng.choice(CLOSERS)).strip()
            text = text[0].upper() + text[1:] if text else text
        at = now - timedelta(seconds=rng.randint(60, 3 * 86400))
        rows.append({"user_id": f"u{user:04d}", "text": text, "created_at": at})
    rows.sort(key=lambda r: r["created_at"])
    return {"topic": topics, "content_item": [{**i, "created_at": now} for i in items], "chat_message": rows}


def seed_content(engine: Engine, **kwargs) -> dict[str, int]:
    """Replace the chat's demo data (topics, library, messages); the platform's rows go with them."""
    data = build_demo(**kwargs)
    with engine.begin() as conn:
        for table in (chat_message, content_item, topic, content_user_state, popular_topic):
            conn.execute(delete(table))
        for table in (topic, content_item, chat_message):
            rows = data[table.name]
            for start in range(0, len(rows), 1000):
                conn.execute(insert(table), rows[start : start + 1000])
    return {name: len(rows) for name, rows in data.items()}


def has_demo(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(chat_message)).scalar_one())
