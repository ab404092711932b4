"""PDF output: real WeasyPrint when its libraries are there, a clear error when they are not."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator

import pypdfium2
import pytest

from datavow.errors import DatavowError
from datavow.pdf import html_to_pdf


def test_html_becomes_a_pdf_whose_first_page_has_ink() -> None:
    pdf = html_to_pdf("<h1>Privatlivspolitik</h1><p>Vi behandler personoplysninger … æøå</p>")
    page = pypdfium2.PdfDocument(pdf)[0].render(scale=1).to_pil().convert("L")
    assert pdf.startswith(b"%PDF-")
    assert page.getextrema()[0] < 128  # some dark pixels: text was drawn


class _NoPango(importlib.abc.MetaPathFinder):
    """What importing WeasyPrint does on a machine without Pango: its ctypes load fails with OSError.
    (Pango is installed here, so the failure is staged: the one stand-in in this file.)"""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file")
        return None


@pytest.fixture
def no_pango(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in sys.modules if n == "weasyprint" or n.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    finder = _NoPango()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


@pytest.mark.usefixtures("no_pango")
def test_a_missing_system_library_is_an_error_that_says_what_to_install() -> None:
    with pytest.raises(DatavowError) as caught:
        html_to_pdf("<p>x</p>")
    message = str(caught.value)
    assert "libpango-1.0-0" in message and "apt install" in message and "HTML instead" in message
