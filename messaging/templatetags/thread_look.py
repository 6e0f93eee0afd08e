"""How a thread's messages look: initials avatars, bodies with clickable links, image previews.

`{% load thread_look %}` in a template. Everything here escapes what people wrote before it adds any markup.
"""

import re
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from ..attachments import is_preview_image

register = template.Library()

# The number of avatar colours (`.avatar-0` to `.avatar-7` in relay.css): a person's is their id modulo this.
AVATAR_COLOURS = 8

# An http(s) URL as people paste it: the scheme, then anything up to a space or a character that cannot be in
# a URL written in text. What ends it (trailing punctuation, an unbalanced bracket) is cut by `_split_url`. A
# linear pattern: no backtracking however long the body is.
_URL = re.compile(r"\bhttps?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,:;!?'*"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def initials(name: str) -> str:
    """The initials shown in an avatar: of the first and last words of `name` (`Alice Liddell` → `AL`), one
    letter for one word (`bob` → `B`), `?` for a name without a letter or digit."""
    words = [word for word in (("".join(ch for ch in part if ch.isalnum())) for part in name.split()) if word]
    if not words:
        return "?"
    firsts = [words[0][0]] if len(words) == 1 else [words[0][0], words[-1][0]]
    return "".join(letter.upper()[0] for letter in firsts)


@register.simple_tag
def avatar(person: Any) -> SafeString:
    """A circle with the person's initials (of `public_name`), in a colour fixed by their id; decorative (the
    name is always written beside it), so hidden from assistive technology."""
    return format_html(
        '<span class="avatar avatar-{}" aria-hidden="true">{}</span>',
        person.pk % AVATAR_COLOURS,
        initials(person.public_name),
    )


def _split_url(candidate: str) -> tuple[str, str]:
    """The URL at the start of `candidate` and what follows it: trailing punctuation and closing brackets
    without their opening one in the URL (`(see https://x.org/a)`) are text, not URL."""
    opened = {close: candidate.count(opening) for close, opening in _PAIRS.items()}
    closed = {close: candidate.count(close) for close in _PAIRS}
    end = len(candidate)
    while end:
        last = candidate[end - 1]
        if last in _PAIRS and closed[last] > opened[last]:
            closed[last] -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return candidate[:end], candidate[end:]


@register.filter(is_safe=True)
def linkify(text: str) -> SafeString:
    """`text` escaped, with each http(s) URL a link that opens in a new tab and tells the target nothing
    (`rel="noopener noreferrer nofollow"`). Other schemes (`javascript:`, `data:`) stay text.

    Django's `urlize` is not used: it also links bare domains and e-mail addresses, and sets no `rel` but
    `nofollow`. Line breaks are left to `linebreaksbr`, after this filter."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url, rest = _split_url(match.group())
        if "://" not in url or url.endswith("://"):
            continue
        parts.append(escape(text[position : match.start()]))
        parts.append(format_html('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', url, url))
        position = match.end() - len(rest)
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # every piece was escaped above


@register.filter
def has_image_preview(message: Any) -> bool:
    """Whether a message's attachment is shown as an image preview (`attachments.is_preview_image`)."""
    return bool(message.has_attachment) and is_preview_image(message.attachment_content_type)
