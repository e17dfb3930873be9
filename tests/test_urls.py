import pytest

from scanner.urls import registrable_domain, split_url


@pytest.mark.parametrize(
    ("url", "origin", "host", "domain"),
    [
        ("https://news.bbc.co.uk/a/b?c=d", "https://news.bbc.co.uk", "news.bbc.co.uk", "bbc.co.uk"),
        ("HTTP://Example.COM:80/x", "http://example.com", "example.com", "example.com"),
        ("https://example.com:8443/", "https://example.com:8443", "example.com", "example.com"),
        ("http://127.0.0.1:8080/robots.txt", "http://127.0.0.1:8080", "127.0.0.1", "127.0.0.1"),
        ("http://[::1]/x", "http://[::1]", "::1", "::1"),
        ("https://bücher.de/x", "https://xn--bcher-kva.de", "xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("https://foo.blogspot.com/", "https://foo.blogspot.com", "foo.blogspot.com", "foo.blogspot.com"),
    ],
)
def test_split_url(url: str, origin: str, host: str, domain: str) -> None:
    parts = split_url(url)
    assert parts is not None
    assert (parts.origin, parts.host, parts.registrable_domain) == (origin, host, domain)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "mailto:a@b.c", "not a url", "http://", "http://x:99999/"])
def test_split_url_rejects_non_http(url: str) -> None:
    assert split_url(url) is None


def test_bare_suffix_is_its_own_domain() -> None:
    assert registrable_domain("co.uk") == "co.uk"


def test_origin_parts_is_split_url_of_the_authority() -> None:
    """The plain-authority shortcut of `origin_parts` answers what `split_url` does."""
    from scanner.urls import AUTHORITY, origin_parts

    urls = [
        "https://s1.example/x",
        "http://a.b.c.example/",
        "https://x-y.example",
        "https://127.0.0.1/a",
        "http://1.2.3/",
        "https://co.uk/",
        "https://www.bbc.co.uk/news?q=1",
        "https://a.example:443/",
        "https://a.example:8443/",
        "HTTPS://A.example/",
        "https://xn--bcher-kva.example/",
        "https://bücher.example/",
        "  https://a.example/",
        "https://user@a.example/",
        "https://a.example./",
        "https://[::1]/",
        "ftp://a.example/",
        "https:///x",
    ]
    for url in urls:
        m = AUTHORITY.match(url)
        assert origin_parts(url) == (split_url(m.group(0) + "/") if m else None), url
