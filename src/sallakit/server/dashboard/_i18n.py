"""The dashboard's words in English and Arabic (pure).

The interface language is the visitor's choice (a cookie set by ``/dashboard/lang/ar``); Arabic
pages are laid out right to left. Store names, events and payloads keep their own direction
whatever the page's (``dir="auto"``), so an Arabic store name reads right in an English page.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGUAGES", "Language", "direction", "translate"]

Language = Literal["en", "ar"]
LANGUAGES: tuple[Language, ...] = ("en", "ar")

_AR = {
    "sallakit dashboard": "لوحة sallakit",
    "Stores": "المتاجر",
    "Store": "المتجر",
    "Webhooks": "الويب هوك",
    "Dead letters": "الرسائل المتعثرة",
    "Log out": "تسجيل الخروج",
    "Log in": "تسجيل الدخول",
    "Password or token": "كلمة المرور أو الرمز",
    "Wrong password or token.": "كلمة المرور أو الرمز غير صحيح.",
    "Token health": "صحة الرموز",
    "Expires": "تنتهي",
    "Last refresh": "آخر تجديد",
    "Status": "الحالة",
    "audited": "المُدقَّق",
    "Scopes": "الصلاحيات",
    "What to do": "ما العمل",
    "Sync": "المزامنة",
    "Sync now": "زامن الآن",
    "Resource": "المورد",
    "Last run": "آخر تشغيل",
    "Duration": "المدة",
    "Mirrored": "المنسوخ",
    "Remote total": "الإجمالي في سلة",
    "Audit": "التدقيق",
    "Lag": "التأخر",
    "Event": "الحدث",
    "Received": "وصل",
    "Attempts": "المحاولات",
    "Last error": "آخر خطأ",
    "Replay": "إعادة التشغيل",
    "Replay selected": "أعد تشغيل المحدد",
    "Filter": "تصفية",
    "all": "الكل",
    "Delivery": "التسليم",
    "Headers": "الترويسات",
    "Body": "المحتوى",
    "Handlers": "المعالجات",
    "Rate-limit use (requests per minute, 429s in red)": (
        "استهلاك حد الطلبات (طلب في الدقيقة، و429 بالأحمر)"
    ),
    "Orders per day": "الطلبات في اليوم",
    "No stores yet.": "لا توجد متاجر بعد.",
    "No deliveries.": "لا توجد تسليمات.",
    "No sync has run yet.": "لم تجر أي مزامنة بعد.",
    "Sync requested": "طُلبت المزامنة",
    "Replayed": "أعيد تشغيل",
    "active": "نشط",
    "refresh_due": "التجديد مستحق",
    "expired": "منتهي",
    "pending": "بانتظار الرموز",
    "uninstalled": "أزيل التطبيق",
    "reinstall_required": "يلزم إعادة التثبيت",
    "refresh_interrupted": "تجديد متقطع",
    "never": "لم يجر",
    "idle": "خامل",
    "running": "قيد التشغيل",
    "failed": "فشل",
    "passed": "نجح",
    "Connected": "تم الربط",
    "Language": "اللغة",
}


def translate(text: str, language: Language) -> str:
    """``text`` in ``language`` (English is the source; unknown words stay as they are)."""
    if language == "ar":
        return _AR.get(text, text)
    return text


def direction(language: Language) -> str:
    """``rtl`` for Arabic, ``ltr`` otherwise."""
    return "rtl" if language == "ar" else "ltr"
