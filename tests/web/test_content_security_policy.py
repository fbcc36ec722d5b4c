"""Every page carries a Content-Security-Policy without 'unsafe-eval' and without 'unsafe-inline', and nothing Cryo
serves needs either: no inline scripts, event handler attributes or style attributes in the templates, no eval in
cryo.js, and htmx configured not to eval or inject styles. The browser test shows the pages work under it."""
import json
import re

import pytest

from tests.harness.processes import ROOT

pytestmark = pytest.mark.django_db

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def policy(response):
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


@pytest.mark.parametrize("url", ["/", "/jobs/", "/audit/", "/account/", "/search/?q=web", "/login/", "/admin/"])
def test_every_page_carries_a_strict_policy(as_ada, fleet, url):
    response = as_ada.get(url)
    assert response.status_code in (200, 302)
    directives = policy(response)
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert "unsafe" not in response["Content-Security-Policy"]


def test_errors_and_refusals_carry_it_too(as_vic, fleet):
    assert "script-src 'self'" in as_vic.post(f"/hosts/{fleet.alpha.name}/sync/")["Content-Security-Policy"]
    assert "script-src 'self'" in as_vic.get("/hosts/no-such-host/")["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_hold_no_inline_code_or_styles(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "an event handler attribute"
    assert not re.search(r"\sstyle\s*=", text, re.I) and "<style" not in text, "a style attribute or element"
    assert "javascript:" not in text.lower()
    assert not re.search(r"hx-on|hx-vars|\bjs:", text), "htmx attributes that eval"
    for trigger in re.findall(r'hx-trigger="([^"]*)"', text):
        assert "[" not in trigger, f"an htmx event filter evals: {trigger}"


def test_cryo_js_uses_no_eval_or_html_injection():
    code = (ROOT / "static" / "cryo" / "cryo.js").read_text()
    for forbidden in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert forbidden not in code, forbidden
    assert not re.search(r"setTimeout\(\s*['\"]", code)


def test_htmx_is_configured_to_need_no_eval_and_no_injected_styles(as_vic, fleet):
    page = as_vic.get("/").content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1))
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False and config["selfRequestsOnly"] is True
