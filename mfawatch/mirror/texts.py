"""Texts of the mirrored pages: the real seed page, labels per language, invented filler.

Only the English "Political cooperation" page of seoul is real (copied from the seed text);
everything else is plausible filler so that the mirror has several languages and sections.
"""

from __future__ import annotations

from dataclasses import dataclass

MOTTO = "“Müstəqilliyimiz əbədidir, daimidir, dönməzdir”"

# UI strings per language; languages without an entry fall back to English.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "relations": "Bilateral relations",
        "last_updated": "Last updated",
        "archive": "Search in archive",
        "home": "Home",
        "about": "About the Embassy",
        "news": "News",
        "consular": "Consular issues",
        "contact": "Contact",
        "not_found": "Page not found",
        "not_found_text": "The page you are looking for does not exist or has been moved.",
        "missions": "Azerbaijani missions abroad",
        "search": "Search",
        "useful_links": "Useful links",
        "address": "Address",
        "phone": "Phone",
        "rights": "All rights reserved.",
        "ministry": "Ministry of Foreign Affairs of the Republic of Azerbaijan",
    },
    "az": {
        "relations": "İkitərəfli münasibətlər",
        "last_updated": "Son yenilənmə",
        "archive": "Arxivdə axtar",
        "home": "Əsas səhifə",
        "about": "Səfirlik haqqında",
        "news": "Xəbərlər",
        "consular": "Konsulluq məsələləri",
        "contact": "Əlaqə",
        "not_found": "Səhifə tapılmadı",
        "not_found_text": "Axtardığınız səhifə mövcud deyil və ya başqa ünvana köçürülüb.",
        "missions": "Azərbaycanın xaricdəki nümayəndəlikləri",
        "search": "Axtar",
        "useful_links": "Faydalı keçidlər",
        "address": "Ünvan",
        "phone": "Telefon",
        "rights": "Bütün hüquqlar qorunur.",
        "ministry": "Azərbaycan Respublikasının Xarici İşlər Nazirliyi",
    },
    "ru": {
        "relations": "Двусторонние отношения",
        "last_updated": "Последнее обновление",
        "archive": "Поиск в архиве",
        "home": "Главная",
        "about": "О посольстве",
        "news": "Новости",
        "consular": "Консульские вопросы",
        "contact": "Контакты",
        "not_found": "Страница не найдена",
        "not_found_text": "Запрашиваемая страница не существует или была перемещена.",
        "missions": "Представительства Азербайджана за рубежом",
        "search": "Поиск",
        "useful_links": "Полезные ссылки",
        "address": "Адрес",
        "phone": "Телефон",
        "rights": "Все права защищены.",
        "ministry": "Министерство иностранных дел Азербайджанской Республики",
    },
}

# The relations sections: content id -> title per language (ids as on seoul.mfa.gov.az).
SECTION_TITLES: dict[int, dict[str, str]] = {
    35: {
        "en": "Political cooperation",
        "az": "Siyasi əməkdaşlıq",
        "ru": "Политическое сотрудничество",
    },
    36: {
        "en": "Economic cooperation",
        "az": "İqtisadi əməkdaşlıq",
        "ru": "Экономическое сотрудничество",
    },
    37: {
        "en": "Educational cooperation",
        "az": "Təhsil sahəsində əməkdaşlıq",
        "ru": "Сотрудничество в сфере образования",
    },
    38: {
        "en": "Cultural and humanitarian cooperation",
        "az": "Mədəni və humanitar əməkdaşlıq",
        "ru": "Культурно-гуманитарное сотрудничество",
    },
}


def label(lang: str, key: str) -> str:
    """A UI string in `lang`, English when the language is not known."""
    return LABELS.get(lang, LABELS["en"])[key]


def section_title(section_id: int, lang: str) -> str:
    titles = SECTION_TITLES[section_id]
    return titles.get(lang, titles["en"])


@dataclass(frozen=True)
class PageText:
    """What one content page says; the layout is added by `pages.content_page`."""

    paragraphs: tuple[str, ...]
    last_updated: str | None
    date_style: str = "own_element"
    flag_alt: str | None = None


SEOUL_POLITICAL_TITLE = "Political cooperation"
SEOUL_POLITICAL_LAST_UPDATED = "28.02.2023"
# Verbatim from a real page, tests/fixtures/seoul_political_en.txt (its README says where from).
SEOUL_POLITICAL_EN: tuple[str, ...] = (
    (
        "Diplomatic relations between the Republic of Azerbaijan and the Republic of Korea were "
        "established on March 23, 1992."
    ),
    (
        "Relations between the two countries were further intensified with the establishment of "
        "Korean Embassy in Azerbaijan as well as Azerbaijani Embassy in Korea in 2006 and in 2007"
        " respectfully."
    ),
    (
        "In 2006 and 2007, mutual visits of the Azerbaijani and Korean heads of state laid the "
        "foundation of a new stage of political dialogue at the highest level and bilateral "
        "cooperation."
    ),
    (
        "Later, the meetings and negotiations held during mutual visits of the heads of "
        "government, speakers of parliament and members of the government have played an "
        "important role in expanding our relations."
    ),
    (
        "At present, there is a comprehensive legal framework between the two countries, and "
        "about 70 documents have been signed between the parties so far."
    ),
    (
        "On the occasions of 25th and 30th anniversaries of establishment of Azerbaijan-Korea "
        "diplomatic relations, exchange of congratulatory letters took place between the heads of"
        " state and foreign ministers in 2017 and 2022 respectfully."
    ),
    (
        "There is a mechanism of political consultations between Azerbaijani-Korean Ministries of"
        " Foreign Affairs and so far four consultations, last one being held in 2022, have been "
        "conducted in Baku and Seoul."
    ),
    (
        "The two countries actively cooperate within various international and regional "
        "organizations."
    ),
    (
        "A high level of bilateral contacts has been established between the legislative bodies "
        "of Azerbaijan and Korea numerous reciprocal visits were carried out in the past years. "
        "Friendship groups are operational under the parliaments of Azerbaijan and Korea and "
        "functional cooperation has been established between them. Successful cooperation is "
        "realized among the parliaments of the two countries in multilateral formats as well, "
        "like Meeting of Speakers of Eurasian Countries’ Parliaments and International Conference"
        " of Asian Political Parties."
    ),
    (
        "Political relations between Azerbaijan and Korea are dynamic and unique in the South "
        "Caucasus region our bilateral cooperation manifested by diplomatic representations is "
        "rich in terms of directions and mechanisms as well as scope and content."
    ),
)

# seoul's relations pages: (lang, section id) -> text. Dates and date styles vary on purpose.
SEOUL_PAGES: dict[tuple[str, int], PageText] = {
    ("en", 35): PageText(SEOUL_POLITICAL_EN, SEOUL_POLITICAL_LAST_UPDATED, "own_element"),
    ("en", 36): PageText(
        (
            (
                "The Republic of Korea is one of Azerbaijan's important trade partners in the "
                "Asia-Pacific region."
            ),
            (
                "The Intergovernmental Commission on Economic, Trade and Technical Cooperation "
                "between Azerbaijan and Korea meets regularly, in Baku and in Seoul in turn."
            ),
            (
                "Korean companies take part in projects in Azerbaijan in the fields of "
                "petrochemicals, construction, information and communication technologies and "
                "transport."
            ),
            "Trade turnover between the two countries has grown steadily in recent years.",
        ),
        "14.03.2023",
        "in_paragraph_bold",
    ),
    ("en", 37): PageText(
        (
            (
                "Cooperation in the field of education between Azerbaijan and Korea is developing "
                "dynamically."
            ),
            (
                "Azerbaijani students study at leading Korean universities under the Global Korea "
                "Scholarship programme of the Government of Korea."
            ),
            "The Korean language is taught at the Azerbaijan University of Languages.",
        ),
        "19.09.2022",
        "odd_spacing",
    ),
    ("en", 38): PageText(
        (
            (
                "Days of Azerbaijani culture have been held in Seoul and days of Korean culture "
                "in Baku."
            ),
            (
                "The Embassy organizes events in Korea promoting Azerbaijani music, mugham and the "
                "art of carpet weaving."
            ),
        ),
        None,
        flag_alt="Waving Flag of South Korea (Animated Gif)",
    ),
    ("az", 35): PageText(
        (
            (
                "Azərbaycan Respublikası ilə Koreya Respublikası arasında diplomatik münasibətlər "
                "23 mart 1992-ci ildə qurulmuşdur."
            ),
            (
                "2006-cı ildə Koreyanın Azərbaycanda, 2007-ci ildə isə Azərbaycanın Koreyada "
                "səfirliyinin fəaliyyətə başlaması ikitərəfli münasibətlərin daha da "
                "intensivləşməsinə səbəb olmuşdur."
            ),
            (
                "2006 və 2007-ci illərdə dövlət başçılarının qarşılıqlı səfərləri ən yüksək "
                "səviyyədə siyasi dialoqun və ikitərəfli əməkdaşlığın yeni mərhələsinin əsasını "
                "qoymuşdur."
            ),
            (
                "Hazırda iki ölkə arasında geniş hüquqi baza mövcuddur və tərəflər arasında "
                "indiyədək 70-ə yaxın sənəd imzalanmışdır."
            ),
            (
                "İki ölkə müxtəlif beynəlxalq və regional təşkilatlar çərçivəsində fəal əməkdaşlıq "
                "edir."
            ),
        ),
        "28.02.2023",
        "in_paragraph_bold",
    ),
    ("az", 36): PageText(
        (
            (
                "Koreya Respublikası Azərbaycanın Asiya-Sakit okean regionunda mühüm ticarət "
                "tərəfdaşlarından biridir."
            ),
            (
                "İqtisadi, ticarət və texniki əməkdaşlıq üzrə Hökumətlərarası Komissiyanın "
                "iclasları mütəmadi olaraq Bakıda və Seulda keçirilir."
            ),
            (
                "Koreya şirkətləri Azərbaycanda neft-kimya, tikinti, informasiya-kommunikasiya "
                "texnologiyaları və nəqliyyat sahələrində layihələrdə iştirak edir."
            ),
        ),
        "14.03.2023",
    ),
    ("az", 37): PageText(
        (
            (
                "Azərbaycan ilə Koreya arasında təhsil sahəsində əməkdaşlıq dinamik şəkildə "
                "inkişaf edir."
            ),
            (
                "Azərbaycanlı tələbələr Koreya hökumətinin təqaüd proqramı çərçivəsində Koreyanın "
                "aparıcı universitetlərində təhsil alırlar."
            ),
            "Azərbaycan Dillər Universitetində koreya dili tədris olunur.",
        ),
        None,
    ),
    ("az", 38): PageText(
        (
            (
                "Azərbaycan mədəniyyəti günləri Seulda, Koreya mədəniyyəti günləri isə Bakıda "
                "keçirilmişdir."
            ),
            (
                "Səfirlik Koreyada Azərbaycan musiqisini, muğamı və xalçaçılıq sənətini "
                "təbliğ edən tədbirlər təşkil edir."
            ),
        ),
        "05.10.2022",
        "odd_spacing",
    ),
    ("ru", 35): PageText(
        (
            (
                "Дипломатические отношения между Азербайджанской Республикой и Республикой Корея "
                "установлены 23 марта 1992 года."
            ),
            (
                "Открытие посольства Кореи в Азербайджане в 2006 году и посольства Азербайджана "
                "в Корее в 2007 году придало новый импульс развитию отношений."
            ),
            (
                "В настоящее время между двумя странами сформирована обширная договорно-правовая "
                "база, подписано около 70 документов."
            ),
            (
                "Две страны активно сотрудничают в рамках различных международных и региональных "
                "организаций."
            ),
        ),
        "28.02.2023",
    ),
    ("ru", 36): PageText(
        (
            (
                "Республика Корея является одним из важных торговых партнёров Азербайджана в "
                "Азиатско-Тихоокеанском регионе."
            ),
            (
                "Регулярно проводятся заседания Межправительственной комиссии по экономическому, "
                "торговому и техническому сотрудничеству."
            ),
        ),
        "14.03.2023",
        "in_paragraph_bold",
    ),
    ("ru", 37): PageText(
        (
            (
                "Азербайджанские студенты обучаются в ведущих университетах Кореи по "
                "государственной стипендиальной программе."
            ),
        ),
        None,
    ),
    ("ru", 38): PageText(
        ("В Сеуле проводились дни культуры Азербайджана, а в Баку — дни культуры Кореи.",),
        "05.10.2022",
        "odd_spacing",
    ),
}
