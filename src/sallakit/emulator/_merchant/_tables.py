"""Constant tables the seeded stores draw from: names, cities, statuses, payment methods.

Everything here is immutable data (tuples and mappings built once at import). Product, customer
and city names are ordinary Saudi / MENA retail vocabulary written for this project; order
status slugs and ids are Salla facts.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "CITIES",
    "COUNTRY_IDS",
    "COUNTRY_NAMES",
    "COURIERS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "OPTION_KINDS",
    "ORDER_STATUSES",
    "PAYMENT_METHODS",
    "PRODUCT_ADJECTIVES",
    "PRODUCT_NOUNS",
    "SEED_STATUS_WEIGHTS",
    "STATUS_BY_ID",
    "STATUS_BY_SLUG",
    "OrderStatus",
]


class OrderStatus(NamedTuple):
    """One of Salla's original order statuses (stable slug and id)."""

    id: int
    slug: str
    name_ar: str
    name_en: str
    sort: int


# under_review, completed and canceled carry the ids seen in Salla's documentation; the other
# ids are fixed here so that every emulated store agrees on them (clients must key on slug).
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus(1473353380, "payment_pending", "بانتظار الدفع", "Payment Pending", 1),
    OrderStatus(
        1956875584,
        "waiting_for_payment_confirmation",
        "بانتظار تأكيد الدفع",
        "Waiting for Payment Confirmation",
        2,
    ),
    OrderStatus(1583396870, "payment_failed", "فشل الدفع", "Payment Failed", 3),
    OrderStatus(566146469, "under_review", "بإنتظار المراجعة", "Under Review", 4),
    OrderStatus(1939592358, "in_progress", "قيد التنفيذ", "In Progress", 5),
    OrderStatus(1298199463, "completed", "تم التنفيذ", "Completed", 6),
    OrderStatus(349994915, "delivering", "جاري التوصيل", "Delivering", 7),
    OrderStatus(1723506348, "delivered", "تم التوصيل", "Delivered", 8),
    OrderStatus(814202285, "shipped", "تم الشحن", "Shipped", 9),
    OrderStatus(525144736, "canceled", "ملغي", "Canceled", 10),
    OrderStatus(1548352431, "restored", "مسترجع", "Restored", 11),
    OrderStatus(989286562, "restoring", "قيد الاسترجاع", "Restoring", 12),
)
STATUS_BY_SLUG = MappingProxyType({s.slug: s for s in ORDER_STATUSES})
STATUS_BY_ID = MappingProxyType({s.id: s for s in ORDER_STATUSES})

# Seeded order status mix: most orders are finished, a few are in flight or cancelled.
SEED_STATUS_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("completed", 40),
    ("delivered", 15),
    ("under_review", 12),
    ("in_progress", 10),
    ("shipped", 6),
    ("delivering", 4),
    ("payment_pending", 4),
    ("canceled", 5),
    ("restored", 2),
    ("waiting_for_payment_confirmation", 2),
)

PAYMENT_METHODS: tuple[str, ...] = (
    "mada",
    "credit_card",
    "apple_pay",
    "cod",
    "bank",
    "stc_pay",
    "tabby_installment",
    "tamara_installment",
)

# (Arabic, English)
PRODUCT_NOUNS: tuple[tuple[str, str], ...] = (
    ("عطر عود", "Oud Perfume"),
    ("دهن عود", "Oud Oil"),
    ("بخور", "Bakhoor Incense"),
    ("تمر سكري", "Sukkari Dates"),
    ("تمر عجوة", "Ajwa Dates"),
    ("قهوة عربية", "Arabic Coffee"),
    ("هيل", "Cardamom"),
    ("زعفران", "Saffron"),
    ("عسل سدر", "Sidr Honey"),
    ("شماغ", "Shemagh"),
    ("ثوب", "Thobe"),
    ("عباية", "Abaya"),
    ("جلابية", "Jalabiya"),
    ("طرحة", "Hijab Scarf"),
    ("مبخرة", "Incense Burner"),
    ("دلة", "Dallah Coffee Pot"),
    ("فناجين", "Coffee Cups Set"),
    ("سجادة صلاة", "Prayer Mat"),
    ("مسبحة", "Prayer Beads"),
    ("حقيبة يد", "Handbag"),
    ("ساعة يد", "Wrist Watch"),
    ("نظارة شمسية", "Sunglasses"),
    ("تيشيرت", "T-Shirt"),
    ("حذاء رياضي", "Running Shoes"),
    ("سماعة لاسلكية", "Wireless Earbuds"),
    ("شاحن سريع", "Fast Charger"),
    ("كفر جوال", "Phone Case"),
    ("مكينة قهوة", "Coffee Machine"),
    ("خلاط", "Blender"),
    ("طقم أواني", "Cookware Set"),
    ("كريم مرطب", "Moisturizing Cream"),
    ("زيت أرغان", "Argan Oil"),
    ("صابون طبيعي", "Natural Soap"),
    ("لعبة تعليمية", "Educational Toy"),
    ("دفتر ملاحظات", "Notebook"),
    ("شنطة سفر", "Travel Bag"),
    ("معمول", "Maamoul Cookies"),
    ("شاي أحمر", "Black Tea"),
    ("لوح شوكولاتة", "Chocolate Bar"),
    ("مكسرات مشكلة", "Mixed Nuts"),
)
PRODUCT_ADJECTIVES: tuple[tuple[str, str], ...] = (
    ("فاخر", "Premium"),
    ("ملكي", "Royal"),
    ("كلاسيك", "Classic"),
    ("طبيعي", "Natural"),
    ("عصري", "Modern"),
    ("أصلي", "Original"),
    ("مميز", "Special"),
    ("خفيف", "Light"),
    ("رياضي", "Sport"),
    ("تراثي", "Heritage"),
)

# (Arabic, English, slug)
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("العطور", "Perfumes", "perfumes"),
    ("التمور", "Dates", "dates"),
    ("القهوة والشاي", "Coffee & Tea", "coffee-tea"),
    ("الأزياء الرجالية", "Men's Fashion", "men-fashion"),
    ("الأزياء النسائية", "Women's Fashion", "women-fashion"),
    ("الإلكترونيات", "Electronics", "electronics"),
    ("المنزل والمطبخ", "Home & Kitchen", "home-kitchen"),
    ("العناية والجمال", "Beauty & Care", "beauty-care"),
    ("الألعاب", "Toys", "toys"),
    ("الحلويات", "Sweets", "sweets"),
)

# (Arabic, English)
BRANDS: tuple[tuple[str, str], ...] = (
    ("العربية للعود", "Arabian Oud"),
    ("عبدالصمد القرشي", "Abdul Samad Al Qurashi"),
    ("باتشي", "Patchi"),
    ("بيت التمور", "Dates House"),
    ("نجمة الشرق", "Eastern Star"),
    ("ديار", "Diyar"),
    ("صحارى", "Sahara"),
    ("مسك الخليج", "Gulf Musk"),
    ("نخلة", "Nakhla"),
    ("الواحة", "Al Waha"),
    ("رمال", "Rimal"),
    ("أصالة", "Asala"),
)

# (Arabic, English)
FIRST_NAMES: tuple[tuple[str, str, str], ...] = (
    ("محمد", "Mohammed", "male"),
    ("أحمد", "Ahmed", "male"),
    ("عبدالله", "Abdullah", "male"),
    ("خالد", "Khalid", "male"),
    ("فهد", "Fahad", "male"),
    ("سلطان", "Sultan", "male"),
    ("عمر", "Omar", "male"),
    ("يوسف", "Yousef", "male"),
    ("فيصل", "Faisal", "male"),
    ("ناصر", "Nasser", "male"),
    ("سارة", "Sara", "female"),
    ("نورة", "Noura", "female"),
    ("فاطمة", "Fatimah", "female"),
    ("ريم", "Reem", "female"),
    ("لمى", "Lama", "female"),
    ("هيا", "Haya", "female"),
    ("منيرة", "Munirah", "female"),
    ("شهد", "Shahad", "female"),
    ("جود", "Joud", "female"),
    ("مريم", "Maryam", "female"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("القحطاني", "Al-Qahtani"),
    ("العتيبي", "Al-Otaibi"),
    ("الشمري", "Al-Shammari"),
    ("الدوسري", "Al-Dosari"),
    ("الغامدي", "Al-Ghamdi"),
    ("الزهراني", "Al-Zahrani"),
    ("الحربي", "Al-Harbi"),
    ("المطيري", "Al-Mutairi"),
    ("السبيعي", "Al-Subaie"),
    ("العنزي", "Al-Anazi"),
    ("الشهري", "Al-Shehri"),
    ("السهلي", "Al-Sahli"),
)

# (Arabic, English, country code, mobile code)
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("الرياض", "Riyadh", "SA", "+966"),
    ("جدة", "Jeddah", "SA", "+966"),
    ("مكة المكرمة", "Makkah", "SA", "+966"),
    ("المدينة المنورة", "Madinah", "SA", "+966"),
    ("الدمام", "Dammam", "SA", "+966"),
    ("الخبر", "Khobar", "SA", "+966"),
    ("أبها", "Abha", "SA", "+966"),
    ("تبوك", "Tabuk", "SA", "+966"),
    ("بريدة", "Buraydah", "SA", "+966"),
    ("الطائف", "Taif", "SA", "+966"),
    ("دبي", "Dubai", "AE", "+971"),
    ("الكويت", "Kuwait City", "KW", "+965"),
)
COUNTRY_NAMES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "SA": ("السعودية", "Saudi Arabia"),
        "AE": ("الإمارات", "United Arab Emirates"),
        "KW": ("الكويت", "Kuwait"),
    }
)
# Country ids as the ``country`` filter of ``GET /orders`` takes them (fixed here; customers
# show theirs with ``fields[]=country_id``).
COUNTRY_IDS: MappingProxyType[str, int] = MappingProxyType(
    {"SA": 1473353380, "AE": 1939592359, "KW": 566146470}
)

# Option kinds for variant products: (option name ar, en, display type, values ar/en).
OPTION_KINDS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("المقاس", "Size", "text", (("صغير", "S"), ("وسط", "M"), ("كبير", "L"), ("كبير جدا", "XL"))),
    ("اللون", "Color", "color", (("أسود", "Black"), ("أبيض", "White"), ("بيج", "Beige"))),
    ("الحجم", "Volume", "text", (("50 مل", "50 ml"), ("100 مل", "100 ml"))),
    ("الوزن", "Weight", "text", (("250 جم", "250 g"), ("500 جم", "500 g"), ("1 كجم", "1 kg"))),
)

COURIERS: tuple[tuple[int, str, str], ...] = (
    (1927161457, "سمسا", "SMSA"),
    (814202286, "أرامكس", "Aramex"),
    (1723506349, "ريدبوكس", "RedBox"),
    (349994916, "سبل", "SPL"),
)
