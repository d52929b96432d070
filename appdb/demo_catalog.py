"""Vocabulary of the demo shop (seed 000): categories, product templates, currencies, scrapers, AI tasks.

Pure data; `appdb.demo_seed` combines it with a seeded `random.Random` into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (id, name, parent id): a 2-level tree; products hang on the leaves.
CATEGORIES: tuple[tuple[int, str, int | None], ...] = (
    (1, "Одежда", None),
    (2, "Футболки", 1),
    (3, "Джинсы", 1),
    (4, "Куртки", 1),
    (5, "Обувь", None),
    (6, "Кроссовки", 5),
    (7, "Ботинки", 5),
    (8, "Электроника", None),
    (9, "Смартфоны", 8),
    (10, "Наушники", 8),
    (11, "Ноутбуки", 8),
    (12, "Инструменты", None),
    (13, "Дрели", 12),
    (14, "Наборы инструментов", 12),
    (15, "Дом и кухня", None),
    (16, "Посуда", 15),
)

# Grammatical forms of Russian colour adjectives by the gender of the noun, plus English and RGB.
M, F, PL = 0, 1, 2
COLORS: dict[str, tuple[tuple[str, str, str], tuple[int, int, int]]] = {
    "red": (("красный", "красная", "красные"), (200, 40, 40)),
    "black": (("чёрный", "чёрная", "чёрные"), (30, 30, 30)),
    "white": (("белый", "белая", "белые"), (235, 235, 235)),
    "blue": (("синий", "синяя", "синие"), (40, 70, 190)),
    "grey": (("серый", "серая", "серые"), (128, 128, 128)),
    "green": (("зелёный", "зелёная", "зелёные"), (40, 150, 70)),
    "beige": (("бежевый", "бежевая", "бежевые"), (215, 195, 160)),
    "brown": (("коричневый", "коричневая", "коричневые"), (120, 75, 40)),
    "light blue": (("голубой", "голубая", "голубые"), (120, 180, 230)),
}


@dataclass(frozen=True)
class ProductTemplate:
    """How titles and descriptions of one kind of product are written.

    `ru`/`en` are format strings over {brand}, {model}, {attr}, {color}, {variant}; `attrs` are
    (Russian, English) pairs; `models` maps a brand to its model names (empty: any brand, no model).
    """

    category_id: int
    ru: str
    en: str
    gender: int
    attrs: tuple[tuple[str, str], ...]
    colors: tuple[str, ...]
    variants: tuple[str, ...]
    brands: tuple[str, ...]
    price_rub: tuple[int, int]
    about_ru: tuple[str, ...]
    about_en: tuple[str, ...]
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shape: str = "circle"  # what the generated picture shows; products of one category look alike


APPAREL_COLORS = ("red", "black", "white", "blue", "grey", "green", "beige")
TEMPLATES: tuple[ProductTemplate, ...] = (
    ProductTemplate(
        2, "Футболка {attr} {color}, {variant}", "{attr} {color} T-Shirt, {variant}", F,
        (("хлопковая", "Cotton"), ("оверсайз", "Oversize"), ("базовая", "Basic"), ("спортивная", "Sport"), ("льняная", "Linen")),
        APPAREL_COLORS, ("размер S", "размер M", "размер L", "размер XL"),
        ("Uniqlo", "Zara", "Gloria Jeans", "Befree", "H&M", "Adidas"), (590, 2990),
        ("Мягкая футболка из плотного хлопка, не теряет форму после стирки.", "Прямой крой и круглый вырез.",
         "Подходит для повседневной носки и спорта.", "Состав: 100% хлопок."),
        ("Soft T-shirt made of heavy cotton that keeps its shape after washing.", "Regular fit, crew neck.",
         "Composition: 100% cotton."),
        shape="shirt",
    ),
    ProductTemplate(
        3, "Джинсы {attr} {color}, {variant}", "{attr} {color} Jeans, {variant}", PL,
        (("прямые", "Straight"), ("скинни", "Skinny"), ("широкие", "Wide"), ("классические", "Classic"), ("утеплённые", "Lined")),
        ("blue", "black", "light blue", "grey", "white"), ("W30 L32", "W32 L32", "W34 L34", "W36 L32"),
        ("Levi's", "Gloria Jeans", "Lee", "Wrangler", "O'STIN"), (1490, 6990),
        ("Джинсы из плотного денима со стрейчем.", "Пять карманов, застёжка на молнию и пуговицу.",
         "Средняя посадка, не сковывают движения."),
        ("Denim jeans with a bit of stretch.", "Five pockets, zip fly and button."),
        shape="trousers",
    ),
    ProductTemplate(
        4, "Куртка {attr} {color}, {variant}", "{attr} {color} Jacket, {variant}", F,
        (("демисезонная", "Light"), ("зимняя", "Winter"), ("кожаная", "Leather"), ("джинсовая", "Denim"), ("стёганая", "Quilted")),
        ("black", "blue", "green", "beige", "brown", "grey"), ("размер 46", "размер 48", "размер 50", "размер 52"),
        ("The North Face", "Columbia", "Outventure", "Finn Flare", "Zolla"), (3990, 24990),
        ("Ветрозащитная куртка с капюшоном.", "Утеплитель сохраняет тепло до -15 °C.",
         "Два боковых кармана на молнии и внутренний карман."),
        ("Windproof jacket with a hood.", "Keeps you warm down to -15 °C."),
        shape="jacket",
    ),
    ProductTemplate(
        6, "Кроссовки {attr} {brand} {color}, {variant}", "{brand} {attr} Sneakers {color}, {variant}", PL,
        (("беговые", "Running"), ("кожаные", "Leather"), ("баскетбольные", "Basketball"), ("повседневные", "Casual")),
        ("white", "black", "grey", "blue", "red"), ("размер 40", "размер 41", "размер 42", "размер 43", "размер 44"),
        ("Nike", "Adidas", "Puma", "New Balance", "Asics", "Li-Ning"), (2990, 15990),
        ("Лёгкие кроссовки с амортизирующей подошвой.", "Дышащий верх из сетки.",
         "Подходят для бега и прогулок по городу."),
        ("Lightweight sneakers with a cushioned sole.", "Breathable mesh upper."),
        shape="shoe",
    ),
    ProductTemplate(
        7, "Ботинки {attr} {brand} {color}, {variant}", "{brand} {attr} Boots {color}, {variant}", PL,
        (("зимние", "Winter"), ("треккинговые", "Hiking"), ("кожаные", "Leather"), ("демисезонные", "All-season")),
        ("black", "brown", "beige", "grey"), ("размер 40", "размер 41", "размер 42", "размер 43", "размер 44"),
        ("Timberland", "Ralf Ringer", "Dr. Martens", "Ecco", "Rieker"), (4990, 19990),
        ("Ботинки из натуральной кожи с водоотталкивающей пропиткой.", "Рифлёная подошва не скользит на льду.",
         "Тёплая подкладка из шерсти."),
        ("Genuine leather boots with a water-repellent finish.", "Grippy sole for ice and snow."),
        shape="shoe",
    ),
    ProductTemplate(
        9, "Смартфон {brand} {model} {variant}, {color}", "{brand} {model} Smartphone {variant}, {color}", M,
        (), ("black", "white", "blue", "green"), ("4/64 ГБ", "6/128 ГБ", "8/256 ГБ", "12/512 ГБ"),
        (), (9990, 129990),
        ("AMOLED-экран 6,7 дюйма с частотой 120 Гц.", "Аккумулятор 5000 мА·ч и быстрая зарядка 67 Вт.",
         "Основная камера 108 Мп с оптической стабилизацией.", "Поддержка NFC и двух SIM-карт."),
        ("6.7-inch AMOLED display at 120 Hz.", "5000 mAh battery with 67 W fast charging.", "NFC and dual SIM."),
        models={
            "Xiaomi": ("Redmi Note 13", "Redmi 13C", "Poco X6"),
            "Samsung": ("Galaxy A55", "Galaxy S24", "Galaxy A15"),
            "Apple": ("iPhone 15", "iPhone 14"),
            "realme": ("C67", "12 Pro"),
            "Honor": ("X8b", "200 Lite"),
        },
        shape="phone",
    ),
    ProductTemplate(
        10, "Наушники {attr} {brand} {model}, {color}", "{brand} {model} {attr} Headphones, {color}", PL,
        (("беспроводные", "Wireless"), ("накладные", "On-ear"), ("внутриканальные", "In-ear")),
        ("black", "white", "blue"), ("",),
        (), (1490, 34990),
        ("Активное шумоподавление и прозрачный режим.", "До 30 часов работы от одного заряда.",
         "Bluetooth 5.3 и быстрое подключение к смартфону."),
        ("Active noise cancelling and transparency mode.", "Up to 30 hours of playback.", "Bluetooth 5.3."),
        models={
            "Sony": ("WH-1000XM5", "WF-C700N"),
            "JBL": ("Tune 520BT", "Wave Beam"),
            "Apple": ("AirPods Pro 2", "AirPods 3"),
            "Xiaomi": ("Redmi Buds 5",),
            "Huawei": ("FreeBuds 5i",),
        },
        shape="headphones",
    ),
    ProductTemplate(
        11, "Ноутбук {brand} {model} {variant}", "{brand} {model} Laptop {variant}", M,
        (), ("grey",), ("i5/16/512 ГБ", "Ryzen 5/8/512 ГБ", "i7/16/1 ТБ", "Ryzen 7/16/1 ТБ"),
        (), (39990, 159990),
        ("IPS-экран 15,6 дюйма с разрешением Full HD.", "SSD-накопитель и до 10 часов автономной работы.",
         "Алюминиевый корпус весом 1,6 кг."),
        ("15.6-inch Full HD IPS display.", "SSD storage and up to 10 hours of battery life."),
        models={
            "Lenovo": ("IdeaPad Slim 3", "ThinkPad E14"),
            "ASUS": ("Vivobook 15", "ZenBook 14"),
            "Huawei": ("MateBook D 16",),
            "HP": ("Pavilion 15",),
            "Acer": ("Aspire 5",),
        },
        shape="laptop",
    ),
    ProductTemplate(
        13, "Дрель-шуруповёрт {brand} {model}, {variant}", "{brand} {model} Cordless Drill, {variant}", F,
        (), ("green", "blue", "black"), ("12 В", "18 В", "2 АКБ", "без АКБ"),
        (), (2990, 24990),
        ("Бесщёточный двигатель и два режима скорости.", "Крутящий момент до 50 Н·м.",
         "В комплекте кейс и зарядное устройство."),
        ("Brushless motor with two speed settings.", "Up to 50 Nm of torque.", "Case and charger included."),
        models={
            "Makita": ("DF333DWYE", "DF457DWE"),
            "Bosch": ("GSR 120-LI", "PSR 1800"),
            "DeWalt": ("DCD791D2",),
            "Интерскол": ("ДА-12ЭР",),
            "Metabo": ("BS 18 L",),
        },
        shape="drill",
    ),
    ProductTemplate(
        14, "Набор инструментов {attr} {brand}, {variant}", "{brand} {attr} Tool Set, {variant}", M,
        (("в кейсе", "Cased"), ("автомобильный", "Automotive"), ("универсальный", "Universal")),
        ("red", "black", "blue"), ("46 предметов", "82 предмета", "108 предметов", "216 предметов"),
        ("Зубр", "Stels", "Jonnesway", "Bosch", "Ombra"), (1490, 19990),
        ("Головки, биты и ключи из хром-ванадиевой стали.", "Прочный кейс с фиксацией каждого предмета.",
         "Подходит для ремонта автомобиля и дома."),
        ("Chrome-vanadium sockets, bits and wrenches.", "Sturdy case with a slot for every piece."),
        shape="toolbox",
    ),
    ProductTemplate(
        16, "Сковорода {attr} {brand}, {variant}", "{brand} {attr} Frying Pan, {variant}", F,
        (("антипригарная", "Non-stick"), ("чугунная", "Cast Iron"), ("гриль", "Grill")),
        ("black", "grey", "red"), ("24 см", "26 см", "28 см"),
        ("Tefal", "Rondell", "Нева Металл Посуда", "Биол"), (990, 7990),
        ("Подходит для всех типов плит, включая индукционные.", "Толстое дно равномерно распределяет тепло.",
         "Можно мыть в посудомоечной машине."),
        ("Works on every hob, induction included.", "Thick base for even heating."),
        shape="pan",
    ),
    ProductTemplate(
        16, "Кастрюля {attr} {brand}, {variant}", "{brand} {attr} Pot, {variant}", F,
        (("эмалированная", "Enamel"), ("из нержавеющей стали", "Stainless Steel")),
        ("white", "red", "grey"), ("2 л", "3 л", "5 л"),
        ("Tefal", "Rondell", "Appetite", "Vitesse"), (1290, 8990),
        ("Кастрюля со стеклянной крышкой и пароотводом.", "Подходит для индукционных плит."),
        ("Pot with a glass lid and steam vent.", "Induction compatible."),
        shape="pot",
    ),
)

# Variant words in English titles.
VARIANT_EN = (
    ("размер", "size"), ("ГБ", "GB"), ("ТБ", "TB"), ("см", "cm"), (" л", " L"), ("без АКБ", "tool only"),
    ("2 АКБ", "2 batteries"), (" В", " V"), ("предметов", "pcs"), ("предмета", "pcs"),
)

# Sentences that make some descriptions long (vectors must truncate, not fail).
LONG_DESCRIPTION_RU = (
    "Характеристики и уход: перед первым использованием внимательно прочитайте инструкцию.",
    "Товар сертифицирован и соответствует требованиям технического регламента Таможенного союза.",
    "Гарантия производителя 12 месяцев, сервисные центры работают во всех крупных городах России.",
    "Доставка курьером или в пункт выдачи, возврат в течение 14 дней без объяснения причин.",
    "Цвет на фотографии может незначительно отличаться от реального из-за настроек монитора.",
    "Упаковка: фирменная коробка, инструкция на русском языке, гарантийный талон.",
)

# Approximate RUB per unit: only to give prices in other currencies realistic magnitudes.
APPROX_RUB_PER_UNIT = {"RUB": 1.0, "USD": 92.0, "EUR": 100.0, "CNY": 12.7, "JPY": 0.61, "KZT": 0.18}
CURRENCY_WEIGHTS = {
    "api": {"RUB": 45, "USD": 15, "EUR": 10, "CNY": 15, "JPY": 5, "KZT": 10},
    "scraped": {"RUB": 30, "USD": 15, "EUR": 5, "CNY": 30, "JPY": 10, "KZT": 10},
}
# Currencies no rate provider publishes: repricing skips these products and says so.
NO_RATE_PRICES = (("XBT", "0.0004"), ("XBT", "0.0011"), ("XAU", "0.0150"))

# Case/whitespace variations a scraper produces for a title the API also has; only the last one changes
# inner whitespace (matched by whitespace-collapsing normalisation, not by plain lower+strip).
TITLE_VARIATIONS = (
    lambda t: t.upper(),
    lambda t: t.lower(),
    lambda t: f"  {t} ",
    lambda t: f"{t.lower()}  ",
    lambda t: "  " + " ".join(w.upper() if i == len(t.split()) - 1 else w.lower() for i, w in enumerate(t.split())) + " ",
    lambda t: t.replace(" ", "  ", 1),
)

SCRAPERS = ("wildberries", "ozon", "yandex_market", "aliexpress", "kaspi")
SCRAPE_MESSAGES = (
    "товар обновлён: цена и наличие",
    "новый товар добавлен в каталог",
    "цена изменилась",
    "нет в наличии у продавца",
    "изображение загружено",
)
SCRAPE_ERRORS = ("HTTP 429 Too Many Requests", "timeout after 30 s", "страница изменилась: селектор .price не найден")

AI_TASKS = ("categorize", "generate_description", "translate_title", "extract_attributes")
AI_STATUSES = ("pending", "running", "completed", "approved", "failed")

# Orphaned media (referenced by no product) and files under protected prefixes, with ages in hours.
ORPHAN_MEDIA: tuple[tuple[str, float], ...] = (
    ("products/old_123.jpg", 24 * 40),
    ("products/old_124.jpg", 24 * 40),
    ("products/old_977.png", 24 * 7),
    ("uploads/2024/05/banner_spring.jpg", 24 * 200),
    ("uploads/2024/11/import_wb.csv", 24 * 20),
    ("uploads/2025/01/draft.jpg", 3),  # fresh: inside any grace period
)
PROTECTED_MEDIA: tuple[tuple[str, float], ...] = (
    ("ai/descriptions/batch_0001.json", 24 * 60),
    ("ai/generated/product_17_v2.png", 24 * 10),
    ("temp/import_2024_12.csv", 24 * 90),
    ("temp/upload_chunk_0001.part", 1),
)
