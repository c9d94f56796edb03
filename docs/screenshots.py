"""Screenshots and layout checks of the built documentation in a headless Chromium.

``nox -s screenshots`` runs it; by hand::

    python docs/screenshots.py docs/_build/html docs/_build/screenshots

For the index, install, quickstart, results and API pages and every page of the user
guide, it opens the built page from disk at a 1280 x 900 window, waits for MathJax, writes
a full-page PNG to the output folder and checks, in the browser:

- no request leaves the machine (every http(s) request is refused and reported), and no
  local file the page asks for is missing: the pages must work offline;
- every formula is typeset (each ``span.math``/``div.math`` holds MathJax output, no TeX
  error, no ``\\(``, ``\\[`` or ``$$`` left in the text);
- nothing is cut: no code block, table or displayed formula scrolls horizontally and no
  element sticks out of the article;
- the left column, where there is one, has links, and no "Section Navigation" is empty;
- every image loaded.

It exits with status 1 when a check fails. Needs the ``playwright`` package and a Chromium
(Debian's ``chromium`` package by default; ``--chromium PATH`` for another).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TOP_PAGES = ("index", "install", "quickstart", "results", "api")

CHECKS_JS = r"""
() => {
  const problems = [];
  const article = document.querySelector('.bd-article') || document.body;
  const describe = (el) => (el.textContent || el.getAttribute('src') || '')
      .trim().split('\n')[0].replace(/\s+/g, ' ').slice(0, 70);

  // maths
  const maths = [...article.querySelectorAll('span.math, div.math')];
  const untypeset = maths.filter((el) => !el.querySelector('mjx-container'));
  for (const el of untypeset) problems.push('formula not typeset: ' + describe(el));
  for (const el of article.querySelectorAll('mjx-merror, [data-mjx-error]')) {
    problems.push('TeX error: ' + (el.getAttribute('data-mjx-error') || describe(el)));
  }
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest('pre, code, script, style, .math, mjx-container, .highlight')) continue;
    if (/\\\(|\\\[|\$\$/.test(node.nodeValue)) {
      problems.push('raw TeX in the text: ' + node.nodeValue.trim().replace(/\s+/g, ' ').slice(0, 70));
    }
  }

  // nothing cut or sticking out
  const right = article.getBoundingClientRect().right;
  const scrolling = 'pre, table, .pst-scrollable-table-container, mjx-container[display="true"]';
  for (const el of article.querySelectorAll(scrolling)) {
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${el.tagName.toLowerCase()} cut (${el.scrollWidth} px of content, `
          + `${el.clientWidth} px shown): ${describe(el)}`);
    }
  }
  for (const el of article.querySelectorAll('pre, table, img, figure, div.highlight, mjx-container')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right + 1) {
      problems.push(`${el.tagName.toLowerCase()} sticks out of the article by `
          + `${Math.round(box.right - right)} px: ${describe(el)}`);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls horizontally (${document.documentElement.scrollWidth} px)`);
  }

  // left column
  const sidebar = document.querySelector('.bd-sidebar-primary');
  const shown = sidebar && getComputedStyle(sidebar).display !== 'none'
      && sidebar.getBoundingClientRect().width > 0;
  if (shown && !sidebar.querySelector('a[href]')) problems.push('the left column has no link');
  for (const nav of document.querySelectorAll('nav.bd-docs-nav')) {
    if (!nav.querySelector('a[href]')) problems.push('empty "Section Navigation"');
  }

  // images
  for (const img of article.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push('image not loaded: ' + img.src);
  }

  return {problems, formulas: maths.length, codeBlocks: article.querySelectorAll('pre').length,
          leftColumn: Boolean(shown)};
}
"""

WAIT_FOR_MATHJAX_JS = """
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  await document.fonts.ready;
  return Boolean(window.MathJax && window.MathJax.version);
}
"""


def pages(html: Path) -> list[str]:
    """The pages to check, as paths relative to ``html`` without the suffix."""
    names = [name for name in TOP_PAGES if (html / f"{name}.html").is_file()]
    missing = sorted(set(TOP_PAGES) - set(names))
    if missing:
        raise SystemExit(f"{html} has no {', '.join(missing)} page: is it a built site?")
    guide = sorted(
        path.relative_to(html).with_suffix("").as_posix()
        for path in (html / "user_guide").glob("*.html")
    )
    return names + guide


def _refuse_network(refused: list[str]):
    """A route handler that lets ``file:`` requests through and refuses (and lists) others."""

    def handle(route, request):
        if request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(request.url)
            route.abort()

    return handle


def check_site(
    html: Path, out: Path, *, width: int, height: int, chromium: str
) -> dict[str, list[str]]:
    """Screenshot every page into ``out``; return the problems found on each page."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
        )
        try:
            for name in pages(html):
                context = browser.new_context(viewport={"width": width, "height": height})
                refused: list[str] = []
                failed: list[str] = []

                context.route("**/*", _refuse_network(refused))
                page = context.new_page()
                page.on(
                    "requestfailed",
                    lambda request, failed=failed: (
                        failed.append(request.url) if request.url.startswith("file:") else None
                    ),
                )
                page.goto((html / f"{name}.html").resolve().as_uri(), wait_until="load")
                has_mathjax = page.evaluate(WAIT_FOR_MATHJAX_JS)
                page.wait_for_load_state("networkidle")
                result = page.evaluate(CHECKS_JS)
                problems = list(result["problems"])
                if result["formulas"] and not has_mathjax:
                    problems.insert(0, f"{result['formulas']} formulas but MathJax did not load")
                problems += [f"request off the machine refused: {url}" for url in refused]
                problems += [f"local file missing: {url}" for url in failed]
                page.screenshot(path=str(out / f"{name.replace('/', '_')}.png"), full_page=True)
                context.close()
                found[name] = problems
                status = "ok" if not problems else f"{len(problems)} problem(s)"
                print(
                    f"{name:<28} {result['formulas']:>4} formulas {result['codeBlocks']:>3} code "
                    f"blocks  left column: {'yes' if result['leftColumn'] else 'no ':<3}  {status}"
                )
                for problem in problems:
                    print(f"    {problem}")
        finally:
            browser.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the built site (sphinx-build -b html output)")
    parser.add_argument("out", type=Path, help="folder for the PNGs")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser to drive")
    args = parser.parse_args(argv)
    found = check_site(
        args.html, args.out, width=args.width, height=args.height, chromium=args.chromium
    )
    bad = {name: problems for name, problems in found.items() if problems}
    print(f"{len(found)} pages checked at {args.width} px, screenshots in {args.out}: ", end="")
    print(f"{len(bad)} with problems ({', '.join(bad)})" if bad else "no problem found")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
