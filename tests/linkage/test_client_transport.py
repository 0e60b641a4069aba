"""The client never sends a token over plain http:// to another machine unless told to."""

import pytest

from linkage.cli import main
from linkage.client import HubClient, check_transport
from linkage.errors import InsecureTransport


@pytest.mark.parametrize(
    "url",
    [
        "https://hub.example",
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://localhost:8000",
        "http://[::1]:8000",
        "http://hub.localhost",
    ],
)
def test_tls_or_this_machine_is_accepted(url: str) -> None:
    check_transport(url)


@pytest.mark.parametrize(
    "url", ["http://hub.example", "http://10.0.0.5:8000", "http://[2001:db8::1]", "ftp://x.nl"]
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(InsecureTransport, match="https://"):
        check_transport(url)

    check_transport(url.replace("ftp", "http"), allow_insecure_http=True)


def test_connect_refuses_before_sending_anything() -> None:
    with pytest.raises(InsecureTransport):
        HubClient.connect("http://hub.example", "secret-token")

    HubClient.connect("http://hub.example", "t", allow_insecure_http=True).http.close()


def test_the_cli_refuses_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDLINK_TOKEN", "secret-token")
    monkeypatch.delenv("FIELDLINK_INSECURE_HTTP", raising=False)

    refused = main(["run", "--project", "Carousel", "--hub", "http://192.0.2.1:9"])
    err = capsys.readouterr().err

    assert refused == 1
    assert "--insecure-http" in err and "secret-token" not in err
    # Told otherwise, it goes on to the network (nothing listens at that TEST-NET address).
    monkeypatch.setenv("FIELDLINK_INSECURE_HTTP", "1")
    monkeypatch.setattr(
        HubClient, "find_project", lambda self, name: (_ for _ in ()).throw(SystemExit(7))
    )
    with pytest.raises(SystemExit) as reached:
        main(["run", "--project", "Carousel", "--hub", "http://192.0.2.1:9"])
    assert reached.value.code == 7
