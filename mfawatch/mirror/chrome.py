"""The chrome around an article: head, header with menus, sidebar, footer.

Mirrors what surrounds the content on the MFA's embassy sites; none of it is content, and
none of it changes between fetches (tokens are derived from the mission, not random).
"""

from __future__ import annotations

import hashlib
from html import escape

from . import _assets, missions, texts


def page_shell(
    *,
    mission: str,
    lang: str,
    title: str,
    main: str,
    menu: list[tuple[str, str]],
    langs: tuple[str, ...] = ("az", "en"),
    charset: str = "utf-8",
    head_extra: str = "",
) -> str:
    """The chrome around `main` (trusted HTML): head, header with menus, sidebar, footer."""
    name = missions.embassy_name(mission, lang)
    return "".join(
        (
            "<!DOCTYPE html>\n",
            f'<html lang="{escape(lang)}">\n',
            _head(mission=mission, lang=lang, title=title, name=name, charset=charset),
            head_extra,
            "</head>\n<body>\n",
            _assets.SVG_SPRITE,
            _header(lang=lang, name=name, menu=menu, langs=langs),
            '<main class="section_content">\n<div class="container">\n<div class="row">\n',
            f'<div class="col-lg-9">\n{main}\n</div>\n',
            _sidebar(lang),
            "</div>\n</div>\n</main>\n",
            _footer(mission=mission, lang=lang, name=name),
            _cookie_banner(lang),
            _subscribe_modal(lang),
            _assets.TAIL_SCRIPTS,
            f"<script>\n{_assets.TAIL_INLINE_SCRIPT}</script>\n",
            "</body>\n</html>\n",
        )
    )


def _head(*, mission: str, lang: str, title: str, name: str, charset: str) -> str:
    if charset.lower() == "utf-8":
        charset_meta = '<meta charset="utf-8">'
    else:
        # Legacy pages declare their charset the old way.
        charset_meta = (
            f'<meta http-equiv="Content-Type" content="text/html; charset={escape(charset)}">'
        )
    # A stable per-site token: real pages carry one, and it must not change between fetches.
    token = hashlib.sha256(f"{mission}/{lang}".encode()).hexdigest()[:40]
    full_title = escape(f"{title} | {name}")
    return (
        "<head>\n"
        f"{charset_meta}\n"
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="csrf-token" content="{token}">\n'
        f"<title>{full_title}</title>\n"
        f'<meta name="description" content="{escape(name)}">\n'
        f'<meta property="og:title" content="{full_title}">\n'
        '<meta property="og:type" content="website">\n'
        '<meta property="og:image" content="/assets/images/og-image.jpg">\n'
        '<meta name="twitter:card" content="summary_large_image">\n'
        f"{_assets.HEAD_LINKS}"
        f"<style>\n{_assets.INLINE_STYLE}</style>\n"
        f"<script>\n{_assets.INLINE_SCRIPT}</script>\n"
        f"{_json_ld(name, mission)}"
    )


def _header(*, lang: str, name: str, menu: list[tuple[str, str]], langs: tuple[str, ...]) -> str:
    switcher = " ".join(_switch_link(code, active=code == lang) for code in langs)
    search = escape(texts.label(lang, "search"))
    return (
        '<header class="section_header">\n'
        '<div class="container section_header_top">\n'
        f'<div class="section_header_motto">{escape(texts.MOTTO)}</div>\n'
        '<div class="section_header_tools">'
        '<button type="button" data-font-step="0" aria-label="A-">A-</button>'
        '<button type="button" data-font-step="2" aria-label="A+">A+</button>'
        '<button type="button" data-action="print" aria-label="Print">'
        '<svg width="16" height="16"><use xlink:href="#icon-print"></use></svg></button></div>\n'
        f'<div class="section_header_lang">{switcher}</div>\n'
        "</div>\n"
        '<div class="container section_header_brand">\n'
        f'<a class="section_header_logo" href="/{escape(lang)}">'
        '<img src="/assets/images/gerb.png" alt="">'
        f"<span>{escape(name)}</span></a>\n"
        f'<form class="section_header_search" action="/{escape(lang)}/search" method="get">'
        f'<input type="text" name="q" placeholder="{search}" aria-label="{search}">'
        f'<button type="submit" aria-label="{search}">'
        '<svg width="18" height="18"><use xlink:href="#icon-search"></use></svg></button></form>\n'
        '<button class="section_header_burger" type="button" aria-label="Menu" '
        'aria-expanded="false"><span></span><span></span><span></span></button>\n'
        "</div>\n"
        f"{_main_menu(lang, menu)}"
        "</header>\n"
    )


def _switch_link(code: str, *, active: bool) -> str:
    css = ' class="active"' if active else ""
    return f'<a href="/{escape(code)}"{css}>{escape(code.upper())}</a>'


def _main_menu(lang: str, relations: list[tuple[str, str]]) -> str:
    plain = [
        (f"/{lang}", "home"),
        (f"/{lang}/content/2", "about"),
        (f"/{lang}/category/news", "news"),
    ]
    after = [
        (f"/{lang}/content/142/konsulluq-qeydiyyati", "consular"),
        (f"/{lang}/content/5/contact", "contact"),
    ]

    def item(href: str, key: str) -> str:
        return (
            f'<li class="section_menu_item"><a href="{escape(href)}">'
            f"{escape(texts.label(lang, key))}</a></li>\n"
        )

    sub = "".join(
        f'<li><a href="{escape(href)}">{escape(text)}</a></li>\n' for href, text in relations
    )
    dropdown = (
        '<li class="section_menu_item section_menu_item--dropdown">'
        f'<a href="#">{escape(texts.label(lang, "relations"))}</a>\n'
        f'<ul class="section_menu_sub">\n{sub}</ul>\n</li>\n'
    )
    return (
        '<nav class="section_menu">\n<div class="container">\n<ul>\n'
        + "".join(item(h, k) for h, k in plain)
        + dropdown
        + "".join(item(h, k) for h, k in after)
        + "</ul>\n</div>\n</nav>\n"
    )


def _sidebar(lang: str) -> str:
    banners = "\n".join(
        f'<a class="section_sidebar_banner" href="{href}" target="_blank" rel="noopener">'
        f'<img data-src="{img}" alt="{escape(alt)}" width="300" height="90"></a>'
        for href, img, alt in _assets.USEFUL_LINKS
    )
    return (
        '<aside class="col-lg-3 section_sidebar">\n'
        f'<div class="section_sidebar_title">{escape(texts.label(lang, "useful_links"))}</div>\n'
        f"{banners}\n{_calendar()}</aside>\n"
    )


def _calendar() -> str:
    # The news calendar widget: a static month (March 2023 starts on a Wednesday).
    news_days = {1, 14, 28}
    cells = ["<td></td>"] * 2
    for day in range(1, 32):
        css = ' class="has-news"' if day in news_days else ""
        cells.append(f"<td{css}><span>{day}</span></td>")
    cells += ["<td></td>"] * (-len(cells) % 7)
    rows = "\n".join("<tr>" + "".join(cells[i : i + 7]) + "</tr>" for i in range(0, len(cells), 7))
    head = "".join(f"<th>{d}</th>" for d in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))
    return (
        '<div class="section_calendar" data-month="2023-03">\n'
        '<div class="section_calendar_header"><button type="button" data-dir="-1">&lsaquo;</button>'
        '<span>03.2023</span><button type="button" data-dir="1">&rsaquo;</button></div>\n'
        f'<table class="section_calendar_table">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>\n</div>\n"
    )


def _footer(*, mission: str, lang: str, name: str) -> str:
    info = missions.mission_info(mission)
    links = "\n".join(
        f'<li><a href="{href}" target="_blank" rel="noopener">{escape(alt)}</a></li>'
        for href, _img, alt in _assets.USEFUL_LINKS
    )
    social = "".join(
        f'<a href="{href}" target="_blank" rel="noopener" aria-label="{kind}">'
        f'<svg><use xlink:href="#icon-{kind}"></use></svg></a>'
        for kind, href in _assets.SOCIAL_LINKS
    )
    host = escape(mission)
    return (
        '<footer class="section_footer">\n<div class="container">\n'
        f'<div class="section_footer_about"><strong>{escape(name)}</strong></div>\n'
        '<div class="section_footer_address">\n'
        f"<p>{escape(texts.label(lang, 'address'))}: {escape(info.city)}</p>\n"
        f"<p>{escape(texts.label(lang, 'phone'))}: +00 0000 0000</p>\n"
        f'<p>E-mail: <a href="mailto:{host}@mission.mfa.gov.az">{host}@mission.mfa.gov.az</a></p>\n'
        "</div>\n"
        f'<div class="section_footer_links"><ul>\n{links}\n</ul></div>\n'
        f'<div class="section_footer_social">{social}</div>\n'
        f"{_missions_select()}"
        f'<div class="section_footer_copyright">© 2024 {escape(texts.label(lang, "ministry"))}. '
        f"{escape(texts.label(lang, 'rights'))}</div>\n"
        "</div>\n</footer>\n"
    )


def _missions_select() -> str:
    options = "\n".join(
        f'<option value="https://{city.lower().replace(" ", "")}.mfa.gov.az">{city}</option>'
        for city in _assets.MISSION_CITIES
    )
    return (
        '<div class="section_footer_missions"><select aria-label="Missions">\n'
        f'<option value="">—</option>\n{options}\n</select></div>\n'
    )


def _json_ld(name: str, mission: str) -> str:
    # Structured data as the CMS emits it; json.dumps would escape nothing we need here.
    same_as = ", ".join(f'"{href}"' for _kind, href in _assets.SOCIAL_LINKS)
    return (
        '<script type="application/ld+json">\n'
        '{"@context": "https://schema.org", "@type": "GovernmentOrganization", '
        f'"name": "{escape(name)}", "url": "https://{escape(mission)}.mfa.gov.az", '
        '"logo": "/assets/images/gerb.png", '
        f'"sameAs": [{same_as}]}}\n</script>\n'
    )


def _subscribe_modal(lang: str) -> str:
    return (
        '<div class="section_subscribe" role="dialog" aria-modal="true">\n'
        '<div class="section_subscribe_dialog">\n'
        '<button type="button" class="section_subscribe_close" data-close aria-label="Close">'
        "&times;</button>\n"
        f'<form action="/{escape(lang)}/subscribe" method="post">\n'
        '<input type="email" name="email" required autocomplete="email" aria-label="E-mail">\n'
        '<label><input type="checkbox" name="agree" required> &#10003;</label>\n'
        '<button type="submit">OK</button>\n</form>\n</div>\n</div>\n'
        '<button type="button" class="section_scrollTop" aria-label="Up">&uarr;</button>\n'
    )


def _cookie_banner(lang: str) -> str:
    text = {"az": "Sayt kukilərdən istifadə edir.", "ru": "Сайт использует файлы cookie."}
    return (
        '<div class="section_cookie" role="dialog">'
        f"<span>{escape(text.get(lang, 'This website uses cookies.'))}</span>"
        '<button type="button">OK</button></div>\n'
    )
