"""PDF documents: HTML laid out by WeasyPrint, loaded only when a PDF is asked for.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``) and at least one font;
every other command works without them, so a missing library is an error at the moment a PDF is
wanted, saying what to install.
"""

from __future__ import annotations

from datavow.errors import DatavowError

INSTALL_HINT = (
    "install Pango and a font (Debian/Ubuntu: apt install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; "
    "see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html), or ask for HTML instead"
)


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """``html`` as the bytes of a PDF; ``base_url`` resolves relative links (images, styles)."""
    try:
        from weasyprint import HTML  # imported late: it loads Pango, which most commands never need
    except OSError as exc:  # the library is there, a system library it loads is not
        raise DatavowError(f"cannot write PDF: {exc} — {INSTALL_HINT}") from exc
    result: bytes = HTML(string=html, base_url=base_url).write_pdf()
    return result
