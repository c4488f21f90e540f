"""The missions the mirror knows, filler text for the ones without real text, home page news.

seoul has its own texts (`texts.SEOUL_PAGES`); any other mission gets short generic pages
naming its host country, so that several "hosts" can be mirrored at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .texts import SEOUL_PAGES, PageText


@dataclass(frozen=True)
class Mission:
    """An embassy: its host city and its own name in each language."""

    city: str
    country: dict[str, str]
    names: dict[str, str]
    year: int = 1992


MISSIONS: dict[str, Mission] = {
    "seoul": Mission(
        "Seoul",
        {"en": "the Republic of Korea", "az": "Koreya Respublikası", "ru": "Республика Корея"},
        {
            "az": "Azərbaycan Respublikasının Koreya Respublikasındakı Səfirliyi",
            "ru": "Посольство Азербайджанской Республики в Республике Корея",
        },
    ),
    "bern": Mission(
        "Bern",
        {"en": "the Swiss Confederation", "az": "İsveçrə Konfederasiyası", "ru": "Швейцария"},
        {
            "az": "Azərbaycan Respublikasının İsveçrə Konfederasiyasındakı Səfirliyi",
            "ru": "Посольство Азербайджанской Республики в Швейцарской Конфедерации",
        },
    ),
    "amman": Mission(
        "Amman",
        {"en": "the Hashemite Kingdom of Jordan", "az": "İordaniya", "ru": "Иордания"},
        {
            "az": "Azərbaycan Respublikasının İordaniya Haşimilər Krallığındakı Səfirliyi",
            "ru": "Посольство Азербайджанской Республики в Иорданском Хашимитском Королевстве",
        },
        1993,
    ),
    "berlin": Mission(
        "Berlin",
        {"en": "the Federal Republic of Germany", "az": "Almaniya", "ru": "Германия"},
        {
            "az": "Azərbaycan Respublikasının Almaniya Federativ Respublikasındakı Səfirliyi",
            "ru": "Посольство Азербайджанской Республики в Федеративной Республике Германия",
        },
    ),
}


def mission_info(mission: str) -> Mission:
    """Known missions by name; any other name gets a generic embassy named after the city."""
    known = MISSIONS.get(mission)
    if known is not None:
        return known
    city = mission.replace("-", " ").title()
    return Mission(city, {"en": city, "az": city, "ru": city}, {})


def embassy_name(mission: str, lang: str) -> str:
    info = mission_info(mission)
    if lang in info.names:
        return info.names[lang]
    return f"Embassy of the Republic of Azerbaijan to {info.country['en']}"


# Filler for missions other than seoul, by language and section; {country} and {year} filled in.
_GENERIC: dict[str, dict[int, tuple[str, ...]]] = {
    "en": {
        35: (
            (
                "Diplomatic relations between the Republic of Azerbaijan and {country} were "
                "established in {year}."
            ),
            (
                "Political dialogue is maintained through mutual visits and regular political "
                "consultations between the ministries of foreign affairs."
            ),
            "The two countries cooperate within international and regional organizations.",
        ),
        36: ("Azerbaijan regards {country} as an important economic partner.",),
        37: ("Students from Azerbaijan study at universities of {country}.",),
        38: ("Days of Azerbaijani culture are held in {country} with the Embassy's support.",),
    },
    "az": {
        35: (
            "Azərbaycan Respublikası ilə {country} arasında diplomatik münasibətlər mövcuddur.",
            (
                "Siyasi dialoq qarşılıqlı səfərlər və xarici işlər nazirlikləri arasında siyasi "
                "məsləhətləşmələr vasitəsilə davam etdirilir."
            ),
        ),
        36: ("{country} Azərbaycanın mühüm iqtisadi tərəfdaşlarından biridir.",),
        37: ("Azərbaycanlı tələbələr bu ölkənin universitetlərində təhsil alırlar.",),
        38: ("Səfirliyin dəstəyi ilə Azərbaycan mədəniyyəti günləri keçirilir.",),
    },
    "ru": {
        35: (
            (
                "Дипломатические отношения с государством пребывания ({country}) установлены "
                "в {year} году."
            ),
            "Политический диалог поддерживается взаимными визитами и регулярными консультациями.",
        ),
        36: ("Страна пребывания ({country}) — важный экономический партнёр Азербайджана.",),
        37: ("Азербайджанские студенты обучаются в университетах страны пребывания.",),
        38: ("При поддержке посольства проводятся дни культуры Азербайджана.",),
    },
}
_GENERIC_DATES = {
    35: ("12.01.2023", "own_element"),
    36: ("03.05.2022", "in_paragraph_bold"),
    37: (None, "own_element"),
    38: ("21.11.2021", "odd_spacing"),
}


def page_text(mission: str, lang: str, section_id: int) -> PageText:
    """The text of one relations page of `mission` in `lang`."""
    if mission == "seoul" and (lang, section_id) in SEOUL_PAGES:
        return SEOUL_PAGES[(lang, section_id)]
    info = mission_info(mission)
    templates = _GENERIC.get(lang, _GENERIC["en"])[section_id]
    country = info.country.get(lang, info.country["en"])
    paragraphs = tuple(t.format(country=country, year=info.year) for t in templates)
    last_updated, date_style = _GENERIC_DATES[section_id]
    return PageText(paragraphs, last_updated, date_style)


# Home page teasers: (id, slug, headline, date as the news lists print it).
_NEWS: dict[str, tuple[tuple[int, str, str, str], ...]] = {
    "en": (
        (
            1207,
            "ambassador-met-with-the-speaker",
            "Ambassador met with the Speaker of the National Assembly",
            "14 March 2023",
        ),
        (
            1203,
            "azerbaijan-korea-political-consultations",
            "Azerbaijan and Korea held political consultations",
            "28 February 2023",
        ),
        (
            1188,
            "reception-on-independence-day",
            "Reception on the occasion of Independence Day",
            "28 May 2022",
        ),
    ),
    "az": (
        (
            1207,
            "sefir-milli-assambleyanin-sedri-ile-gorusub",
            "Səfir Milli Assambleyanın sədri ilə görüşüb",
            "14 mart 2023",
        ),
        (
            1203,
            "siyasi-meslehetlesmeler-kecirilib",
            "Azərbaycan və Koreya arasında siyasi məsləhətləşmələr keçirilib",
            "28 fevral 2023",
        ),
        (
            1188,
            "musteqillik-gunu-munasibetile-qebul",
            "Müstəqillik Günü münasibətilə qəbul",
            "28 may 2022",
        ),
    ),
    "ru": (
        (
            1207,
            "posol-vstretilsya-so-spikerom",
            "Посол встретился со спикером Национального собрания",
            "14 марта 2023",
        ),
        (
            1203,
            "politicheskie-konsultacii",
            "Состоялись политические консультации между Азербайджаном и Кореей",
            "28 февраля 2023",
        ),
        (
            1188,
            "priem-po-sluchayu-dnya-nezavisimosti",
            "Прием по случаю Дня независимости",
            "28 мая 2022",
        ),
    ),
}


def news(lang: str) -> tuple[tuple[int, str, str, str], ...]:
    """The home page's news teasers in `lang` (English when unknown)."""
    return _NEWS.get(lang, _NEWS["en"])
