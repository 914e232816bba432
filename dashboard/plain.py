"""Text that came from outside — a chair name in the config, a nurse's name or comment, a line
a monitor sent — is shown as text, never obeyed as Markdown or HTML.

Streamlit renders Markdown (with its own extensions: ``:red[...]``, ``:material/...:``,
``$LaTeX$``) in messages, captions and labels; a name like ``![x](http://host/p.png)`` would
make every nurse's browser fetch an outside address. ``md`` backslash-escapes every ASCII
punctuation character, which CommonMark guarantees to show literally; ``html`` is for the
few elements we build as HTML ourselves (tiles, the sign-in link).
"""

from __future__ import annotations

import html as _html
import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = re.compile(r"\s+")


def md(text: object) -> str:
    """``text`` safe to put into any Streamlit Markdown: shown exactly, on one line."""
    return _PUNCTUATION.sub(r"\\\1", _SPACE.sub(" ", str(text)).strip())


def html(text: object) -> str:
    return _html.escape(str(text), quote=True)
