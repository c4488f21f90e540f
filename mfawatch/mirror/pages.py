"""Full HTML pages in the layout of the Azerbaijani MFA's embassy sites.

The markup follows what public scrapers of mfa.gov.az show of it: BEM-style `section_*` classes,
the body in `div.section_articleInner_body_content--description`, the title repeated as the first
paragraph, empty `&nbsp;` paragraphs, a "Last updated" line and a "Search in archive" link.
Every string that comes from a parameter is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from . import missions, texts
from .chrome import page_shell

DATE_STYLES = ("own_element", "in_paragraph_bold", "odd_spacing")
DEFAULT_LANGS = ("az", "en")
RELATIONS_IDS = (35, 36, 37, 38)
# Where the main site lists its missions abroad (public scrapers of today's site use it).
MISSIONS_LIST_PATH = "/en/category/azerbaijani-missions-abroad"

# Menu links of the relations sections. They copy the site's quirks: a slug, no slug, the
# `/index.php` prefix. Each (lang, id) has exactly one URL so page identity stays unambiguous.
_EN_SLUGS = {
    35: "political-cooperation",
    36: "economic-cooperation",
    37: "educational-cooperation",
    38: "cultural-cooperation",
}
_AZ_SLUGS = {
    35: "siyasi-emekdasliq",
    36: "iqtisadi-emekdasliq",
    37: "tehsil-sahesinde-emekdasliq",
    38: "medeni-ve-humanitar-emekdasliq",
}


def relations_path(lang: str, section_id: int) -> str:
    """The URL path that the menus use for one relations page.

    >>> relations_path("en", 35)
    '/en/content/35/political-cooperation'
    >>> relations_path("en", 36)
    '/en/content/36'
    >>> relations_path("az", 37)
    '/index.php/az/content/37/tehsil-sahesinde-emekdasliq'
    """
    slug = (_AZ_SLUGS if lang == "az" else _EN_SLUGS)[section_id]
    if section_id == 36:
        return f"/{lang}/content/{section_id}"
    if section_id == 37:
        return f"/index.php/{lang}/content/{section_id}/{slug}"
    return f"/{lang}/content/{section_id}/{slug}"


def relations_menu(lang: str) -> list[tuple[str, str]]:
    """(href, label) of every relations page: the entries of the "Bilateral relations" menu."""
    return [(relations_path(lang, i), texts.section_title(i, lang)) for i in RELATIONS_IDS]


def content_page(
    *,
    mission: str,
    lang: str,
    title: str,
    paragraphs: list[str],
    last_updated: str | None,
    date_style: str = "own_element",
    menu: list[tuple[str, str]] | None = None,
    flag_alt: str | None = None,
    langs: tuple[str, ...] = DEFAULT_LANGS,
) -> str:
    """A content page: the chrome plus one article.

    `menu` holds the (href, label) entries of the "Bilateral relations" dropdown (default:
    `relations_menu(lang)`); `langs` are the languages offered by the switcher.
    """
    article = article_html(
        lang=lang,
        title=title,
        paragraphs=paragraphs,
        last_updated=last_updated,
        date_style=date_style,
        flag_alt=flag_alt,
    )
    if menu is None:
        menu = relations_menu(lang)
    return page_shell(mission=mission, lang=lang, title=title, main=article, menu=menu, langs=langs)


def home_page(
    *,
    mission: str,
    lang: str,
    menu: list[tuple[str, str]],
    langs: tuple[str, ...] = DEFAULT_LANGS,
) -> str:
    """A mission's home page: the chrome and a grid of news teasers, no article."""
    items = "\n".join(
        '<div class="section_newsIn_item">'
        f'<img data-src="/files/news/{news_id}.jpg" alt="">'
        f'<a class="section_newsIn_item_title" href="/{escape(lang)}/news/{news_id}/{slug}">'
        f"{escape(headline)}</a>"
        f'<span class="section_newsIn_item_information--date">{escape(date)}</span></div>'
        for news_id, slug, headline, date in missions.news(lang)
    )
    main = f'<div class="section_home">\n<div class="section_newsIn">\n{items}\n</div>\n</div>'
    title = texts.label(lang, "home")
    return page_shell(mission=mission, lang=lang, title=title, main=main, menu=menu, langs=langs)


def not_found_page(*, mission: str, lang: str, langs: tuple[str, ...] = DEFAULT_LANGS) -> str:
    """The site's own "Page not found" page in the normal chrome (served with 200: a soft 404)."""
    heading = escape(texts.label(lang, "not_found"))
    main = (
        f'<div class="section_notFound">\n<h1 class="section_notFound--title">{heading}</h1>\n'
        f"<p>{escape(texts.label(lang, 'not_found_text'))}</p>\n"
        f'<a href="/{escape(lang)}">{escape(texts.label(lang, "home"))}</a>\n</div>'
    )
    return page_shell(
        mission=mission,
        lang=lang,
        title=texts.label(lang, "not_found"),
        main=main,
        menu=relations_menu(lang),
        langs=langs,
    )


def relations_page(
    mission: str,
    lang: str,
    section_id: int,
    *,
    langs: tuple[str, ...] = DEFAULT_LANGS,
    **changed: Any,
) -> str:
    """A relations page as `embassy_site` serves it; keyword arguments replace any of
    `content_page`'s (paragraphs, last_updated, date_style, menu, flag_alt): an edit.
    """
    text = missions.page_text(mission, lang, section_id)
    page: dict[str, Any] = {
        "paragraphs": list(text.paragraphs),
        "last_updated": text.last_updated,
        "date_style": text.date_style,
        "flag_alt": text.flag_alt,
        "menu": relations_menu(lang),
    }
    title = texts.section_title(section_id, lang)
    return content_page(mission=mission, lang=lang, title=title, langs=langs, **(page | changed))


def embassy_site(mission: str = "seoul", langs: tuple[str, ...] = ("en", "az")) -> dict[str, str]:
    """path -> HTML of a mission's home pages (`/en`, `/az`, ...) and its relations pages.

    Only the paths the menus link to are included; other menu links (news, consular...) 404.
    """
    site: dict[str, str] = {}
    switcher = tuple(sorted(langs))
    for lang in langs:
        menu = relations_menu(lang)
        site[f"/{lang}"] = home_page(mission=mission, lang=lang, menu=menu, langs=switcher)
        for section_id in RELATIONS_IDS:
            site[relations_path(lang, section_id)] = relations_page(
                mission, lang, section_id, langs=switcher
            )
    return site


def missions_list_page(links: Sequence[tuple[str, str]], *, lang: str = "en") -> str:
    """The main site's list of missions abroad: a link to each (label, URL as given), in the
    site's chrome, whose own links (home, banners, social media) lead elsewhere."""
    items = "\n".join(
        f'<li class="section_missions_item"><a href="{escape(url)}">{escape(label)}</a></li>'
        for label, url in links
    )
    main = (
        '<div class="section_missions">\n<h1 class="section_missions--title">'
        f'{escape(texts.label(lang, "missions"))}</h1>\n<ul class="section_missions_list">\n'
        f"{items}\n</ul>\n</div>"
    )
    title = texts.label(lang, "missions")
    return page_shell(mission="mfa", lang=lang, title=title, main=main, menu=relations_menu(lang))


def article_html(
    *,
    lang: str,
    title: str,
    paragraphs: list[str],
    last_updated: str | None,
    date_style: str = "own_element",
    flag_alt: str | None = None,
) -> str:
    """The `section_articleInner` block: title, body, optional date line, archive link."""
    if date_style not in DATE_STYLES:
        raise ValueError(f"date_style must be one of {DATE_STYLES}, not {date_style!r}")
    body = [f"<p>{escape(title)}</p>", "<p>&nbsp;</p>"]
    body += [f"<p>{escape(p)}</p>" for p in paragraphs]
    if flag_alt is not None:
        body.append(f'<p><img src="/files/flag.gif" alt="{escape(flag_alt)}"></p>')
    body.append("<p>&nbsp;</p>")
    label = escape(texts.label(lang, "last_updated"))
    date = escape(last_updated) if last_updated is not None else None
    if date is not None and date_style == "in_paragraph_bold":
        body.append(f"<p><strong>{label}:</strong>&nbsp;{date}&nbsp;</p>")
    date_div = ""
    if date is not None and date_style == "own_element":
        date_div = f'\n<div class="section_articleInner_body_content--date">{label}: {date}</div>'
    elif date is not None and date_style == "odd_spacing":
        date_div = (
            f'\n<div class="section_articleInner_body_content--date">{label} :&nbsp;\n'
            f"   {date} </div>"
        )
    archive = (
        f'<div class="section_articleInner_archive"><a href="/{escape(lang)}/archive">'
        f"{escape(texts.label(lang, 'archive'))}</a></div>"
    )
    return (
        '<div class="section_articleInner">\n'
        '<div class="section_articleInner_header">'
        f'<h1 class="section_articleInner_header--title">{escape(title)}</h1></div>\n'
        '<div class="section_articleInner_body_content">\n'
        '<div class="section_articleInner_body_content--description">\n'
        + "\n".join(body)
        + f"\n</div>{date_div}\n</div>\n{archive}\n</div>"
    )
