"""Vocabulary of the demo Telegram channels (seed 001): topics, sentences, links.

Sentences of a topic repeat its words, so the extractive tagger and "related tags" have something to
find. Links point at example domains (unreachable offline); two point at addresses the safe crawler
must refuse (loopback and the cloud metadata service).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str
    language: str  # "ru" or "en"
    topics: dict[str, tuple[str, ...]]
    links: tuple[str, ...]


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "tech_news_ru",
        "ru",
        {
            "нейросети": (
                "Нейросети научились писать код почти без ошибок.",
                "Новая открытая нейросеть для распознавания речи работает прямо на ноутбуке.",
                "Разработчики сравнили нейросети для перевода текстов с русского на английский.",
                "Компании всё чаще встраивают нейросети в поддержку клиентов.",
            ),
            "смартфоны": (
                "Продажи смартфонов в России выросли на 12% за квартал.",
                "Новые смартфоны получили аккумуляторы на 6000 мА·ч.",
                "Обзор: какие смартфоны с NFC выбрать до 20 тысяч рублей.",
                "Производители смартфонов обещают семь лет обновлений.",
            ),
            "кибербезопасность": (
                "Эксперты по кибербезопасности нашли уязвимость в популярном роутере.",
                "Кибербезопасность малого бизнеса: пять простых правил.",
                "Утечка паролей снова напомнила о кибербезопасности и двухфакторной защите.",
            ),
            "Python": (
                "Вышел Python 3.13 со свободным от GIL режимом.",
                "Python остаётся самым популярным языком в рейтинге TIOBE.",
                "Как ускорить Python-код: профилирование, Cython и векторизация.",
            ),
        },
        (
            "https://habr.com/ru/articles/123/",
            "https://habr.com/ru/articles/845210/",
            "https://example.com/tech/ai-code",
            "https://news.example.org/smartphones/q3",
        ),
    ),
    Channel(
        "finance_daily",
        "ru",
        {
            "ключевая ставка": (
                "Банк России сохранил ключевую ставку на уровне 21%.",
                "Аналитики ждут снижения ключевой ставки в следующем году.",
                "Ключевая ставка влияет на ставки по вкладам и ипотеке.",
            ),
            "курс рубля": (
                "Курс рубля к доллару укрепился на открытии торгов.",
                "Курс рубля зависит от цен на нефть и экспортной выручки.",
                "Что будет с курсом рубля к юаню: прогнозы экспертов.",
            ),
            "инфляция": (
                "Годовая инфляция замедлилась до 8,5%.",
                "Инфляция в сфере услуг остаётся высокой.",
                "Росстат опубликовал недельную инфляцию: цены на овощи снизились.",
            ),
            "акции": (
                "Акции Сбербанка обновили максимум года.",
                "Индекс Мосбиржи вырос: акции нефтяных компаний в лидерах.",
                "Дивидендные акции: кто заплатит больше всех в этом году.",
            ),
        },
        (
            "https://www.cbr.ru/press/keypr/",
            "https://example.com/finance/rub-forecast",
            "https://finance.example.net/markets/moex",
            "https://example.com/finance/rub-forecast?utm_source=tg",
        ),
    ),
    Channel(
        "travel_notes",
        "en",
        {
            "Georgia": (
                "Georgia is still the easiest mountain trip from Moscow.",
                "Tbilisi and Kazbegi in one week: our Georgia itinerary.",
                "Wine regions of Georgia are best visited in October.",
            ),
            "train travel": (
                "Train travel across Europe got cheaper with the new rail pass.",
                "Night trains are back: train travel from Vienna to Rome in one night.",
                "Tips for long train travel: food, power banks and seats.",
            ),
            "visa": (
                "Japan extended its electronic visa to more countries.",
                "How to apply for a Schengen visa without an agency.",
                "Visa-free entry for 30 days starts next month.",
            ),
            "budget hotels": (
                "Budget hotels in Istanbul near the old town, tested by readers.",
                "Capsule hotels are the new budget hotels in Tokyo.",
                "Budget hotels with free breakfast: our shortlist for the summer.",
            ),
        },
        (
            "https://example.org/travel/georgia-itinerary",
            "https://travel.example.com/rail-pass-2025",
            "https://example.org/visa/japan-evisa",
        ),
    ),
    Channel(
        "dev_digest",
        "en",
        {
            "Kubernetes": (
                "Kubernetes 1.31 removes in-tree cloud providers.",
                "Running stateful workloads on Kubernetes without tears.",
                "A practical guide to Kubernetes autoscaling.",
            ),
            "PostgreSQL": (
                "PostgreSQL 17 speeds up vacuum and bulk loading.",
                "Ten PostgreSQL settings every backend developer should know.",
                "Logical replication in PostgreSQL explained with examples.",
            ),
            "Rust": (
                "Rust 2024 edition is stable.",
                "Why our team rewrote the parser in Rust.",
                "Async Rust is getting easier with the new trait features.",
            ),
            "open source": (
                "An open source maintainer explains the cost of free software.",
                "Open source licensing changes: what they mean for users.",
                "How to make your first open source contribution.",
            ),
        },
        (
            "https://example.com/dev/k8s-autoscaling",
            "https://blog.example.dev/postgres-17",
            "https://example.com/dev/rust-parser",
            "https://habr.com/ru/articles/123/",
        ),
    ),
)

LINK_LEAD = {"ru": ("Подробнее:", "Источник:", "Читать:"), "en": ("Read more:", "Source:", "Details:")}
# Each appears in exactly one post: the safe crawler must refuse both (loopback, cloud metadata service).
HOSTILE_LINKS = ("http://127.0.0.1/admin", "http://169.254.169.254/latest/meta-data/")
