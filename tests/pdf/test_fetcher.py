"""The documents' URL fetcher serves the app's PDF assets and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm.core.pdf import ASSETS_DIR, STYLESHEET, AssetFetcher, RefusedURL

CSS_URL = (ASSETS_DIR / STYLESHEET).as_uri()


def test_it_serves_the_print_css_as_css():
    response = AssetFetcher().fetch(CSS_URL)

    assert response.content_type == "text/css"
    assert b"@page" in response.read()
    response.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.org/font.woff2",
        "ftp://example.org/x",
        "data:text/css,body{color:red}",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "file:///etc/hostname",
        "file://otherhost" + str(ASSETS_DIR / STYLESHEET),
        "javascript:alert(1)",
        STYLESHEET,  # relative: WeasyPrint resolves against the base URL before asking
        "",
    ],
)
def test_it_refuses_other_schemes_hosts_and_files(url):
    with pytest.raises(RefusedURL):
        AssetFetcher().fetch(url)


@pytest.mark.parametrize(
    "suffix",
    [
        "/../../config.py",
        "/../../../pyproject.toml",
        "/%2e%2e/%2e%2e/config.py",
        "/%2E%2E/%2E%2E/config.py",
        "/./document.css",
        "/..%2f..%2fconfig.py",
        "/..%5c..%5cconfig.py",
        "/document.css%00.png",
        "/",
        "",
        "/missing.css",
    ],
)
def test_it_refuses_escapes_and_what_is_not_a_file(suffix):
    url = ASSETS_DIR.as_uri() + suffix

    with pytest.raises(RefusedURL):
        AssetFetcher().fetch(url)


def test_a_folder_next_to_the_assets_with_the_same_prefix_is_outside(tmp_path):
    root = tmp_path / "pdf"
    root.mkdir()
    (tmp_path / "pdf-private").mkdir()
    secret = tmp_path / "pdf-private" / "secret.css"
    secret.write_text("body {}")

    with pytest.raises(RefusedURL):
        AssetFetcher(root).fetch(secret.as_uri())


def test_a_symlink_out_of_the_assets_is_refused(tmp_path):
    root = tmp_path / "assets"
    root.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("the secret")
    (root / "innocent.css").symlink_to(outside)
    (root / "fonts").symlink_to(tmp_path, target_is_directory=True)
    (root / "real.css").write_text("body {}")
    fetcher = AssetFetcher(root)

    with pytest.raises(RefusedURL):
        fetcher.fetch((root / "innocent.css").as_uri())
    with pytest.raises(RefusedURL):
        fetcher.fetch((root / "fonts" / "secret.txt").as_uri())
    assert fetcher.fetch((root / "real.css").as_uri()).read() == b"body {}"


def test_a_symlink_inside_the_assets_pointing_inside_is_served(tmp_path):
    root = tmp_path / "assets"
    root.mkdir()
    (root / "real.css").write_text("p {}")
    (root / "alias.css").symlink_to(root / "real.css")

    assert AssetFetcher(root).fetch((root / "alias.css").as_uri()).read() == b"p {}"


def test_refusals_are_logged_at_debug_level_without_the_url(caplog):
    caplog.set_level("DEBUG", logger="crm.core.pdf")

    with pytest.raises(RefusedURL):
        AssetFetcher().fetch("http://127.0.0.1:9/secret-token-XK42.png")

    (record,) = [r for r in caplog.records if r.name == "crm.core.pdf"]
    assert record.levelname == "DEBUG"
    assert "XK42" not in record.getMessage()
    assert "127.0.0.1" not in record.getMessage()


def test_the_assets_folder_holds_no_symlink_out():
    for folder, _dirs, files in os.walk(ASSETS_DIR):
        for name in files:
            path = Path(folder) / name
            assert path.resolve().is_relative_to(ASSETS_DIR.resolve()), path
