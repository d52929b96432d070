"""The demo's configurator catalog (English, a PC shop like the seed's): categories, part options,
incompatibility and price rules, presets. Deterministic ids, so tests name documents by key."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, func, select

from assets.assistant.tables import (
    configurator_category, incompatibility_rule, part_option, preconfigured_product, preconfigured_product_option,
    price_adjustment_rule,
)

CATEGORIES = [
    (1, "Processor", "The CPU: the brain of the computer. Socket must match the motherboard."),
    (2, "Motherboard", "The main board every part plugs into; its socket decides the processor family."),
    (3, "Memory", "System RAM. DDR4 and DDR5 modules are not interchangeable."),
    (4, "Graphics card", "The GPU for games, 3D rendering and machine learning."),
    (5, "Storage", "SSDs and hard drives for the operating system and files."),
    (6, "Power supply", "Feeds every part; high-end graphics cards need more watts."),
    (7, "Case", "The enclosure; it must fit the motherboard size and the graphics card length."),
    (8, "Cooling", "Air coolers and liquid coolers that keep the processor cool."),
]

# id, category, name, description, price, in stock
OPTIONS = [
    (101, 1, "Intel Core i5-13400F", "10 cores, LGA1700 socket, good value for gaming.", "189.00", True),
    (102, 1, "Intel Core i9-14900K", "24 cores, LGA1700 socket, the fastest Intel desktop chip.", "549.00", True),
    (103, 1, "AMD Ryzen 5 7600", "6 cores, AM5 socket, efficient and affordable.", "199.00", True),
    (104, 1, "AMD Ryzen 9 7950X", "16 cores, AM5 socket, for rendering and compiling.", "529.00", False),
    (201, 2, "ASUS B760 LGA1700 DDR4", "LGA1700 motherboard with DDR4 memory slots.", "139.00", True),
    (202, 2, "MSI Z790 LGA1700 DDR5", "LGA1700 motherboard with DDR5 slots and overclocking.", "259.00", True),
    (203, 2, "Gigabyte B650 AM5 DDR5", "AM5 motherboard with DDR5 memory slots.", "169.00", True),
    (204, 2, "ASRock X670E AM5 DDR5", "Premium AM5 motherboard with PCIe 5.0.", "299.00", True),
    (301, 3, "16 GB DDR4-3200", "Two 8 GB DDR4 modules.", "39.00", True),
    (302, 3, "32 GB DDR4-3600", "Two 16 GB DDR4 modules.", "69.00", True),
    (303, 3, "32 GB DDR5-6000", "Two 16 GB DDR5 modules.", "99.00", True),
    (304, 3, "64 GB DDR5-6000", "Two 32 GB DDR5 modules for workstations.", "189.00", True),
    (401, 4, "NVIDIA GeForce RTX 4060", "8 GB, 115 W, 1080p gaming.", "299.00", True),
    (402, 4, "NVIDIA GeForce RTX 4080 Super", "16 GB, 320 W, 4K gaming, 310 mm long.", "999.00", True),
    (403, 4, "AMD Radeon RX 7800 XT", "16 GB, 263 W, 1440p gaming.", "499.00", True),
    (404, 4, "NVIDIA GeForce RTX 4090", "24 GB, 450 W, 336 mm long, the fastest consumer GPU.", "1799.00", False),
    (501, 5, "1 TB NVMe SSD", "PCIe 4.0 solid state drive, 7000 MB/s.", "79.00", True),
    (502, 5, "2 TB NVMe SSD", "PCIe 4.0 solid state drive, 7000 MB/s.", "139.00", True),
    (503, 5, "4 TB HDD", "7200 rpm hard drive for bulk storage.", "89.00", True),
    (601, 6, "550 W Bronze", "80 Plus Bronze power supply.", "59.00", True),
    (602, 6, "750 W Gold", "80 Plus Gold modular power supply.", "109.00", True),
    (603, 6, "1000 W Platinum", "80 Plus Platinum for high-end graphics cards.", "199.00", True),
    (701, 7, "Compact mATX case", "Small case for micro-ATX boards, fits cards up to 300 mm.", "69.00", True),
    (702, 7, "Mid tower ATX case", "Airflow case, fits graphics cards up to 360 mm.", "99.00", True),
    (703, 7, "Full tower case", "Room for everything, fits cards up to 420 mm.", "179.00", True),
    (801, 8, "Stock air cooler", "Quiet enough for processors up to 65 W.", "0.00", True),
    (802, 8, "Tower air cooler", "Dual-fan tower cooler for processors up to 200 W.", "49.00", True),
    (803, 8, "360 mm liquid cooler", "All-in-one liquid cooler for the hottest processors.", "149.00", True),
]

# id, option, incompatible option, reason
INCOMPATIBILITIES = [
    (1, 101, 203, "The Core i5-13400F uses socket LGA1700; the B650 board has socket AM5."),
    (2, 101, 204, "The Core i5-13400F uses socket LGA1700; the X670E board has socket AM5."),
    (3, 102, 203, "The Core i9-14900K uses socket LGA1700; the B650 board has socket AM5."),
    (4, 102, 204, "The Core i9-14900K uses socket LGA1700; the X670E board has socket AM5."),
    (5, 103, 201, "The Ryzen 5 7600 uses socket AM5; the B760 board has socket LGA1700."),
    (6, 103, 202, "The Ryzen 5 7600 uses socket AM5; the Z790 board has socket LGA1700."),
    (7, 104, 201, "The Ryzen 9 7950X uses socket AM5; the B760 board has socket LGA1700."),
    (8, 104, 202, "The Ryzen 9 7950X uses socket AM5; the Z790 board has socket LGA1700."),
    (9, 201, 303, "The B760 board has DDR4 slots; DDR5 modules do not fit."),
    (10, 201, 304, "The B760 board has DDR4 slots; DDR5 modules do not fit."),
    (11, 202, 301, "The Z790 board has DDR5 slots; DDR4 modules do not fit."),
    (12, 203, 302, "The B650 board has DDR5 slots; DDR4 modules do not fit."),
    (13, 404, 601, "The RTX 4090 draws 450 W; a 550 W power supply cannot feed it."),
    (14, 402, 701, "The RTX 4080 Super is 310 mm long; the compact case fits cards up to 300 mm."),
    (15, 404, 701, "The RTX 4090 is 336 mm long; the compact case fits cards up to 300 mm."),
    (16, 102, 801, "The Core i9-14900K draws up to 253 W; the stock cooler handles 65 W."),
]

# id, option, depends on, delta, description
PRICE_RULES = [
    (1, 803, 102, "-30.00", "Bundle discount: liquid cooler with the Core i9-14900K."),
    (2, 304, 204, "-20.00", "Workstation bundle: 64 GB DDR5 with the X670E board."),
    (3, 603, 404, "25.00", "Extra cables and a 12VHPWR adapter for the RTX 4090."),
    (4, 202, 102, "-15.00", "Overclocking bundle: Z790 board with the Core i9-14900K."),
]

# id, name, description, base price, active, options
PRESETS = [
    (1, "Budget Gamer", "An affordable 1080p gaming PC.", "49.00", True, [101, 201, 301, 401, 501, 601, 702, 801]),
    (2, "Creator Workstation", "A 16-core AMD workstation for video editing and 3D rendering.", "99.00", True,
     [104, 204, 304, 403, 502, 602, 703, 803]),
    (3, "Ultimate 4K Gamer", "The fastest Intel gaming PC for 4K.", "149.00", True, [102, 202, 303, 402, 502, 603, 702, 803]),
    (4, "Compact Office", "A small quiet office PC.", "29.00", True, [103, 203, 303, 501, 601, 701, 801]),
    (5, "Retired Preset", "An old configuration no longer sold.", "10.00", False, [101, 201, 301]),
]


def seed_catalog(engine: Engine) -> dict[str, int]:
    """Insert the demo catalog unless the catalog already holds options; returns what was inserted."""
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(part_option)).scalar_one():
            return {}
        conn.execute(configurator_category.insert(), [{"id": i, "name": n, "description": d} for i, n, d in CATEGORIES])
        conn.execute(part_option.insert(), [
            {"id": i, "category_id": c, "name": n, "description": d, "price": Decimal(p), "in_stock": s}
            for i, c, n, d, p, s in OPTIONS
        ])
        conn.execute(incompatibility_rule.insert(), [
            {"id": i, "option_id": a, "incompatible_option_id": b, "reason": r} for i, a, b, r in INCOMPATIBILITIES
        ])
        conn.execute(price_adjustment_rule.insert(), [
            {"id": i, "option_id": a, "depends_on_option_id": b, "price_delta": Decimal(x), "description": d}
            for i, a, b, x, d in PRICE_RULES
        ])
        conn.execute(preconfigured_product.insert(), [
            {"id": i, "name": n, "description": d, "base_price": Decimal(p), "is_active": a} for i, n, d, p, a, _ in PRESETS
        ])
        conn.execute(preconfigured_product_option.insert(), [
            {"product_id": i, "option_id": o} for i, _, _, _, _, options in PRESETS for o in options
        ])
    return {"categories": len(CATEGORIES), "options": len(OPTIONS), "incompatibility rules": len(INCOMPATIBILITIES),
            "price rules": len(PRICE_RULES), "presets": len(PRESETS)}
