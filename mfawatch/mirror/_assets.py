"""Static chrome of the mirrored pages: stylesheets, scripts and icons.

None of this is content. It is here so that a mirrored page weighs what a real one does
(30-45 KB, most of it not text) and so that extraction has script and style text to ignore.
"""

from __future__ import annotations

HEAD_LINKS = """\
<link rel="icon" type="image/x-icon" href="/assets/images/favicon.ico">
<link rel="apple-touch-icon" sizes="180x180" href="/assets/images/apple-touch-icon.png">
<link rel="preconnect" href="https://fonts.googleapis.com">
<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto:wght@300;400;500;700&amp;display=swap">
<link rel="stylesheet" href="/assets/css/bootstrap.min.css?v=5.1.3">
<link rel="stylesheet" href="/assets/css/swiper-bundle.min.css?v=8.4.5">
<link rel="stylesheet" href="/assets/css/fancybox.css?v=4.0.31">
<link rel="stylesheet" href="/assets/css/style.css?v=1.4.2">
<link rel="stylesheet" href="/assets/css/responsive.css?v=1.4.2">
<script src="/assets/js/jquery-3.6.0.min.js"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-5Q2N8XW4LM"></script>
"""

TAIL_SCRIPTS = """\
<script src="/assets/js/bootstrap.bundle.min.js?v=5.1.3"></script>
<script src="/assets/js/swiper-bundle.min.js?v=8.4.5"></script>
<script src="/assets/js/fancybox.umd.js?v=4.0.31"></script>
<script src="/assets/js/main.js?v=1.4.2"></script>
"""

# A few KB of inline script, as the real pages carry (analytics, menu, font size, cookies).
INLINE_SCRIPT = """\
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag('js', new Date());
gtag('config', 'G-5Q2N8XW4LM', { anonymize_ip: true });
(function () {
  'use strict';
  var root = document.documentElement;
  var site = {
    lang: root.getAttribute('lang') || 'az',
    fontSteps: [14, 16, 18, 20],
    cookieName: 'mfa_cookie_consent',
    storageKey: 'mfa_font_size',
    breakpoint: 992
  };
  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].split('=');
      if (decodeURIComponent(pair[0]) === name) {
        return decodeURIComponent(pair.slice(1).join('='));
      }
    }
    return null;
  }
  function writeCookie(name, value, days) {
    var expires = new Date(Date.now() + days * 864e5).toUTCString();
    document.cookie = encodeURIComponent(name) + '=' + encodeURIComponent(value) +
      '; expires=' + expires + '; path=/; SameSite=Lax';
  }
  function applyFontSize(step) {
    var size = site.fontSteps[Math.max(0, Math.min(site.fontSteps.length - 1, step))];
    root.style.fontSize = size + 'px';
    try {
      window.localStorage.setItem(site.storageKey, String(step));
    } catch (e) { /* private browsing: no storage */ }
  }
  function initFontSize() {
    var saved = 1;
    try {
      saved = parseInt(window.localStorage.getItem(site.storageKey) || '1', 10);
    } catch (e) { saved = 1; }
    applyFontSize(isNaN(saved) ? 1 : saved);
    document.querySelectorAll('[data-font-step]').forEach(function (button) {
      button.addEventListener('click', function () {
        applyFontSize(parseInt(button.getAttribute('data-font-step'), 10));
      });
    });
  }
  function initMenu() {
    var items = document.querySelectorAll('.section_menu_item--dropdown');
    items.forEach(function (item) {
      var link = item.querySelector('a');
      link.addEventListener('click', function (event) {
        if (window.innerWidth < site.breakpoint) {
          event.preventDefault();
          item.classList.toggle('is-open');
        }
      });
      item.addEventListener('mouseenter', function () { item.classList.add('is-hover'); });
      item.addEventListener('mouseleave', function () { item.classList.remove('is-hover'); });
    });
    var toggler = document.querySelector('.section_header_burger');
    if (toggler) {
      toggler.addEventListener('click', function () {
        document.body.classList.toggle('menu-open');
        toggler.setAttribute('aria-expanded', document.body.classList.contains('menu-open'));
      });
    }
  }
  function initCookieBanner() {
    var banner = document.querySelector('.section_cookie');
    if (!banner) { return; }
    if (readCookie(site.cookieName) === 'accepted') {
      banner.parentNode.removeChild(banner);
      return;
    }
    banner.classList.add('is-visible');
    banner.querySelector('button').addEventListener('click', function () {
      writeCookie(site.cookieName, 'accepted', 365);
      banner.classList.remove('is-visible');
    });
  }
  function initLazyImages() {
    if (!('IntersectionObserver' in window)) { return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          var img = entry.target;
          img.src = img.getAttribute('data-src');
          img.removeAttribute('data-src');
          observer.unobserve(img);
        }
      });
    }, { rootMargin: '200px 0px' });
    document.querySelectorAll('img[data-src]').forEach(function (img) { observer.observe(img); });
  }
  function initPrint() {
    document.querySelectorAll('[data-action="print"]').forEach(function (button) {
      button.addEventListener('click', function (event) {
        event.preventDefault();
        window.print();
      });
    });
  }
  function initScrollTop() {
    var button = document.querySelector('.section_scrollTop');
    if (!button) { return; }
    window.addEventListener('scroll', function () {
      button.classList.toggle('is-visible', window.pageYOffset > 400);
    }, { passive: true });
    button.addEventListener('click', function () {
      window.scrollTo({ top: 0, behavior: 'smooth' });
    });
  }
  function initSubscribe() {
    var modal = document.querySelector('.section_subscribe');
    if (!modal) { return; }
    document.querySelectorAll('[data-open="subscribe"]').forEach(function (link) {
      link.addEventListener('click', function (event) {
        event.preventDefault();
        modal.classList.add('is-open');
      });
    });
    modal.addEventListener('click', function (event) {
      if (event.target === modal || event.target.hasAttribute('data-close')) {
        modal.classList.remove('is-open');
      }
    });
    var form = modal.querySelector('form');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.getAttribute('action'));
      var token = document.querySelector('meta[name="csrf-token"]').content;
      xhr.setRequestHeader('X-CSRF-TOKEN', token);
      xhr.onload = function () { form.reset(); modal.classList.remove('is-open'); };
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    initScrollTop();
    initSubscribe();
    initFontSize();
    initMenu();
    initCookieBanner();
    initLazyImages();
    initPrint();
  });
})();
"""

# Critical CSS inlined in <head>, the rest comes from style.css.
INLINE_STYLE = """\
:root{--mfa-blue:#00338d;--mfa-red:#ed2939;--mfa-green:#3f9c35;--mfa-grey:#f4f6f9;
  --mfa-text:#1d2330}
html{font-size:16px}
body{margin:0;font-family:Roboto,Arial,sans-serif;color:var(--mfa-text);background:#fff}
a{color:var(--mfa-blue);text-decoration:none}
a:hover{text-decoration:underline}
.section_header{background:#fff;border-bottom:3px solid var(--mfa-blue);position:relative;
  z-index:20}
.section_header_top{display:flex;justify-content:space-between;align-items:center;padding:8px 0;
  font-size:.85rem}
.section_header_motto{font-style:italic;color:#4a5568;letter-spacing:.02em}
.section_header_lang a{display:inline-block;padding:2px 6px;margin-left:2px;border-radius:3px;
  font-weight:500}
.section_header_lang a.active{background:var(--mfa-blue);color:#fff}
.section_header_brand{display:flex;align-items:center;justify-content:space-between;
  padding:14px 0}
.section_header_logo{display:flex;align-items:center;gap:14px;color:var(--mfa-text);
  font-size:1.15rem;font-weight:700;max-width:520px}
.section_header_logo img{width:64px;height:64px}
.section_header_search{display:flex;border:1px solid #d5dbe5;border-radius:4px;overflow:hidden}
.section_header_search input{border:0;padding:8px 12px;min-width:220px;font-size:.9rem}
.section_header_search button{border:0;background:var(--mfa-blue);color:#fff;padding:0 12px}
.section_header_tools{display:flex;gap:6px}
.section_header_tools button{border:1px solid #d5dbe5;background:#fff;border-radius:3px;
  padding:2px 8px}
.section_header_burger{display:none;border:0;background:none;width:40px;height:40px}
.section_menu{background:var(--mfa-blue)}
.section_menu>ul{display:flex;flex-wrap:wrap;list-style:none;margin:0;padding:0}
.section_menu_item{position:relative}
.section_menu_item>a{display:block;padding:14px 18px;color:#fff;font-weight:500;
  text-transform:uppercase;font-size:.9rem}
.section_menu_item>a:hover{background:rgba(255,255,255,.12);text-decoration:none}
.section_menu_sub{display:none;position:absolute;left:0;top:100%;min-width:280px;
  background:#fff;list-style:none;margin:0;padding:8px 0;box-shadow:0 8px 24px rgba(0,0,0,.15)}
.section_menu_item--dropdown.is-hover .section_menu_sub,
.section_menu_item--dropdown.is-open .section_menu_sub{display:block}
.section_menu_sub a{display:block;padding:8px 18px;color:var(--mfa-text)}
.section_content{padding:32px 0 48px;background:var(--mfa-grey);min-height:60vh}
.section_articleInner{background:#fff;padding:32px;border-radius:6px;
  box-shadow:0 2px 10px rgba(0,0,0,.05)}
.section_articleInner_header--title{font-size:1.9rem;font-weight:700;margin:0 0 24px;
  color:var(--mfa-blue)}
.section_articleInner_body_content--description{line-height:1.75;font-size:1rem;
  text-align:justify}
.section_articleInner_body_content--description p{margin:0 0 14px}
.section_articleInner_body_content--description img{max-width:100%;height:auto}
.section_articleInner_body_content--date{margin-top:24px;color:#6b7280;font-size:.85rem}
.section_articleInner_archive{margin-top:24px;padding-top:16px;border-top:1px solid #e5e7eb}
.section_articleInner_archive a{font-weight:500}
.section_sidebar{display:flex;flex-direction:column;gap:16px}
.section_sidebar_title{font-size:1.1rem;font-weight:700;border-left:4px solid var(--mfa-red);
  padding-left:10px}
.section_sidebar_banner{display:block;border-radius:4px;overflow:hidden}
.section_sidebar_banner img{width:100%;display:block}
.section_newsIn{display:grid;grid-template-columns:repeat(3,1fr);gap:24px}
.section_newsIn_item{background:#fff;border-radius:6px;overflow:hidden;
  box-shadow:0 2px 10px rgba(0,0,0,.05)}
.section_newsIn_item_title{display:block;padding:16px;font-weight:500;color:var(--mfa-text)}
.section_newsIn_item_information--date{display:block;padding:0 16px 16px;color:#6b7280;
  font-size:.8rem}
.section_notFound{background:#fff;padding:64px 32px;text-align:center;border-radius:6px}
.section_footer{background:#0b1f4b;color:#c9d3e6;padding:40px 0 0;font-size:.9rem}
.section_footer a{color:#fff}
.section_footer_links ul{list-style:none;padding:0;columns:2}
.section_footer_social{display:flex;gap:10px}
.section_footer_social svg{width:22px;height:22px;fill:#fff}
.section_footer_copyright{border-top:1px solid rgba(255,255,255,.12);padding:16px 0;
  margin-top:24px;font-size:.8rem}
.section_cookie{display:none;position:fixed;bottom:0;left:0;right:0;background:#1d2330;
  color:#fff;padding:14px;z-index:50}
.section_cookie.is-visible{display:flex;justify-content:center;gap:16px;align-items:center}
.section_calendar{background:#fff;border-radius:6px;padding:12px;
  box-shadow:0 2px 10px rgba(0,0,0,.05)}
.section_calendar_header{display:flex;justify-content:space-between;align-items:center;
  font-weight:700;margin-bottom:8px}
.section_calendar_header button{border:0;background:none;font-size:1.2rem;color:var(--mfa-blue);
  cursor:pointer}
.section_calendar_table{width:100%;border-collapse:collapse;text-align:center;font-size:.8rem}
.section_calendar_table th{color:#6b7280;font-weight:500;padding:4px 0}
.section_calendar_table td{padding:4px 0}
.section_calendar_table td.has-news span{display:inline-block;width:24px;height:24px;
  line-height:24px;border-radius:50%;background:var(--mfa-blue);color:#fff}
.section_footer_missions select{width:100%;max-width:320px;padding:8px;border-radius:4px;
  border:0;margin-top:16px}
.section_subscribe{display:none;position:fixed;inset:0;background:rgba(0,0,0,.5);z-index:60;
  align-items:center;justify-content:center}
.section_subscribe.is-open{display:flex}
.section_subscribe_dialog{background:#fff;border-radius:6px;padding:24px;max-width:420px;
  width:100%}
.section_subscribe_dialog input[type=email]{width:100%;padding:10px;border:1px solid #d5dbe5;
  border-radius:4px;margin:12px 0}
.section_subscribe_dialog button[type=submit]{background:var(--mfa-blue);color:#fff;border:0;
  border-radius:4px;padding:10px 18px}
.section_scrollTop{position:fixed;right:24px;bottom:24px;width:44px;height:44px;
  border-radius:50%;border:0;background:var(--mfa-red);color:#fff;opacity:0;
  transition:opacity .3s}
.section_scrollTop.is-visible{opacity:1}
@media (max-width:991px){.section_header_burger{display:block}
.section_menu{display:none}
.menu-open .section_menu{display:block}
.section_menu>ul{flex-direction:column}
.section_menu_sub{position:static;box-shadow:none}
.section_newsIn{grid-template-columns:1fr}
.section_header_search input{min-width:120px}
.section_articleInner{padding:20px}
}
@media print{.section_header,.section_footer,.section_sidebar,.section_cookie{display:none}
}
"""

# Icons used by the header and footer, inlined once per page as the real site does.
SVG_SPRITE = """\
<svg xmlns="http://www.w3.org/2000/svg" style="display:none" aria-hidden="true">
<symbol id="icon-search" viewBox="0 0 24 24"><path d="M10 2a8 8 0 0 1 6.32 12.9l5.39 5.4-1.41
1.41-5.4-5.39A8 8 0 1 1 10 2zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12z"/></symbol>
<symbol id="icon-facebook" viewBox="0 0 24 24"><path d="M22 12.06C22 6.5 17.52 2 12 2S2 6.5 2
12.06c0 5.02 3.66 9.18 8.44 9.94v-7.03H7.9v-2.91h2.54V9.85c0-2.52 1.49-3.91 3.78-3.91 1.09 0
2.24.2 2.24.2v2.47h-1.26c-1.24 0-1.63.78-1.63 1.57v1.88h2.78l-.44 2.91h-2.34V22c4.78-.76
8.43-4.92 8.43-9.94z"/></symbol>
<symbol id="icon-twitter" viewBox="0 0 24 24"><path d="M18.24 2.25h3.31l-7.23 8.26 8.5
11.24h-6.65l-5.21-6.82-5.97 6.82H1.68l7.73-8.84L1.25 2.25h6.83l4.71 6.23 5.45-6.23zm-1.16
17.52h1.83L7.08 4.13H5.12l11.96 15.64z"/></symbol>
<symbol id="icon-instagram" viewBox="0 0 24 24"><path d="M12 2.16c3.2 0 3.58.01 4.85.07 3.25.15
4.77 1.69 4.92 4.92.06 1.27.07 1.65.07 4.85s-.01 3.58-.07 4.85c-.15 3.23-1.66 4.77-4.92
4.92-1.27.06-1.65.07-4.85.07s-3.58-.01-4.85-.07c-3.26-.15-4.77-1.7-4.92-4.92C2.17 15.58 2.16
15.2 2.16 12s.01-3.58.07-4.85C2.38 3.92 3.9 2.38 7.15 2.23 8.42 2.17 8.8 2.16 12 2.16zM12 0C8.74
0 8.33.01 7.05.07 2.7.27.27 2.69.07 7.05.01 8.33 0 8.74 0 12s.01 3.67.07 4.95c.2 4.36 2.62 6.78
6.98 6.98C8.33 23.99 8.74 24 12 24s3.67-.01 4.95-.07c4.35-.2 6.78-2.62
6.98-6.98.06-1.28.07-1.69.07-4.95s-.01-3.67-.07-4.95c-.2-4.35-2.62-6.78-6.98-6.98C15.67.01 15.26
0 12 0zm0 5.84a6.16 6.16 0 1 0 0 12.32 6.16 6.16 0 0 0 0-12.32zM12 16a4 4 0 1 1 0-8 4 4 0 0 1 0
8zm6.41-11.85a1.44 1.44 0 1 0 0 2.88 1.44 1.44 0 0 0 0-2.88z"/></symbol>
<symbol id="icon-youtube" viewBox="0 0 24 24"><path d="M23.5 6.19a3.02 3.02 0 0 0-2.12-2.14C19.5
3.55 12 3.55 12 3.55s-7.5 0-9.38.5A3.02 3.02 0 0 0 .5 6.19C0 8.07 0 12 0 12s0 3.93.5 5.81a3.02
3.02 0 0 0 2.12 2.14c1.88.5 9.38.5 9.38.5s7.5 0 9.38-.5a3.02 3.02 0 0 0 2.12-2.14C24 15.93 24 12
24 12s0-3.93-.5-5.81zM9.55 15.57V8.43L15.82 12l-6.27 3.57z"/></symbol>
<symbol id="icon-print" viewBox="0 0 24 24"><path d="M19 8H5c-1.66 0-3 1.34-3
3v6h4v4h12v-4h4v-6c0-1.66-1.34-3-3-3zm-3 11H8v-5h8v5zm3-7c-.55 0-1-.45-1-1s.45-1 1-1 1 .45 1
1-.45 1-1 1zm-1-9H6v4h12V3z"/></symbol>
<symbol id="icon-arrow" viewBox="0 0 24 24"><path d="M8.59 16.59 13.17 12 8.59 7.41 10 6l6 6-6
6-1.41-1.41z"/></symbol>
</svg>
"""

# Government sites linked from the footer and sidebar of every mission site.
USEFUL_LINKS: tuple[tuple[str, str, str], ...] = (
    (
        "https://president.az",
        "/files/banners/president.png",
        "President of the Republic of Azerbaijan",
    ),
    (
        "https://mehriban-aliyeva.az",
        "/files/banners/first-vice-president.png",
        "First Vice-President",
    ),
    ("https://mfa.gov.az", "/files/banners/mfa.png", "Ministry of Foreign Affairs"),
    ("https://evisa.gov.az", "/files/banners/asan-visa.png", "ASAN Visa"),
    ("https://www.e-gov.az", "/files/banners/e-gov.png", "Electronic Government Portal"),
    ("https://azertag.az", "/files/banners/azertac.png", "AZERTAC State News Agency"),
    ("https://azerbaijan.travel", "/files/banners/travel.png", "Azerbaijan Tourism Board"),
    (
        "https://diaspora.gov.az",
        "/files/banners/diaspora.png",
        "State Committee on Work with Diaspora",
    ),
)

SOCIAL_LINKS: tuple[tuple[str, str], ...] = (
    ("facebook", "https://www.facebook.com/AzerbaijanMFA"),
    ("twitter", "https://twitter.com/AzerbaijanMFA"),
    ("instagram", "https://www.instagram.com/azerbaijanmfa"),
    ("youtube", "https://www.youtube.com/@AzerbaijanMFA"),
)

# Cities of the ministry's missions, for the footer's "Embassies and consulates" selector.
# fmt: off
MISSION_CITIES: tuple[str, ...] = (
    "Abu Dhabi", "Abuja", "Addis Ababa", "Aktau", "Algiers", "Amman", "Ankara", "Ashgabat",
    "Astana", "Athens", "Baghdad", "Bangkok", "Batumi", "Beijing", "Beirut", "Belgrade",
    "Berlin", "Bern", "Bishkek", "Bogota", "Bratislava", "Brasilia", "Brussels", "Bucharest",
    "Budapest", "Buenos Aires", "Cairo", "Canberra", "Chisinau", "Copenhagen", "Dakar",
    "Dhaka", "Doha", "Dubai", "Dushanbe", "Hanoi", "Havana", "Helsinki", "Islamabad",
    "Istanbul", "Jakarta", "Jeddah", "Kars", "Kuala Lumpur", "Kuwait", "Kyiv", "Lisbon",
    "London", "Los Angeles", "Madrid", "Manila", "Mexico", "Minsk", "Moscow", "Muscat",
    "Nairobi", "New Delhi", "Oslo", "Ottawa", "Paris", "Prague", "Pretoria", "Rabat", "Riga",
    "Riyadh", "Rome", "Saint Petersburg", "Santiago", "Sarajevo", "Seoul", "Sofia",
    "Stockholm", "Tallinn", "Tashkent", "Tbilisi", "Tehran", "The Hague", "Tokyo", "Tunis",
    "Vienna", "Vilnius", "Warsaw", "Washington", "Yekaterinburg", "Zagreb",
)
# fmt: on

# Inline script at the end of <body>: banner carousel and a counter pixel.
TAIL_INLINE_SCRIPT = """\
(function () {
  'use strict';
  if (window.Swiper) {
    new Swiper('.section_sidebar_slider', {
      slidesPerView: 1,
      spaceBetween: 16,
      loop: true,
      autoplay: { delay: 5000, disableOnInteraction: false },
      pagination: { el: '.swiper-pagination', clickable: true },
      breakpoints: { 576: { slidesPerView: 2 }, 992: { slidesPerView: 1 } }
    });
  }
  if (window.Fancybox) {
    Fancybox.bind('[data-fancybox="gallery"]', { Thumbs: { autoStart: false } });
  }
  var select = document.querySelector('.section_footer_missions select');
  if (select) {
    select.addEventListener('change', function () {
      if (select.value) { window.open(select.value, '_blank', 'noopener'); }
    });
  }
  var pixel = new Image(1, 1);
  pixel.src = '/stat/hit?r=' + encodeURIComponent(document.referrer) +
    '&p=' + encodeURIComponent(location.pathname) + '&t=' + Date.now();
})();
"""
