"""Sign-in hardening: guessing is slowed to a stop, the nurse list can be hidden, and the
dashboard serves over TLS with Streamlit's own certificate settings."""

import datetime as dt
import http.client
import ipaddress
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from dashboard import signin_limits
from dashboard.signin_limits import NAME_LOCKOUT_S, SignInLimits, client_of, judge
from tests.conftest import ROOT, chairside_command, child_env
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "Nurse Ada", "lovelace")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(path))
    return path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_a_name_and_twenty_lock_a_client(caplog) -> None:
    clock = Clock()
    limits = SignInLimits(clock)
    for _ in range(5):
        assert limits.wait_s("Nurse Ada", "client-a") == 0
        limits.failed("Nurse Ada", "client-a")
    assert limits.wait_s("nurse ada", "10.0.0.7") == NAME_LOCKOUT_S  # from any machine
    assert limits.wait_s("Nurse Ben", "client-a") == 0  # her colleague is not locked out
    assert "sign-in locked for 5 min: name:nurse ada" in caplog.text
    clock.now += NAME_LOCKOUT_S
    assert limits.wait_s("Nurse Ada", "client-a") == 0
    for i in range(20):  # one machine trying many names
        limits.failed(f"guess {i}", "10.0.0.66")
    assert limits.wait_s("anyone", "10.0.0.66") > 0 and limits.wait_s("anyone", "client-a") == 0


def test_behind_a_local_proxy_each_browser_is_its_own_client() -> None:
    assert client_of(None, "10.0.0.7") == "10.0.0.7"  # a proxy on this machine
    assert client_of("127.0.0.1", "6.6.6.6, 10.0.0.8") == "10.0.0.8"  # what the proxy appended
    assert client_of("10.0.0.9", "127.0.0.1") == "10.0.0.9"  # a remote client cannot forge it
    assert client_of(None, "") == "this machine"


def test_a_success_clears_the_count_and_old_failures_expire() -> None:
    clock = Clock()
    limits = SignInLimits(clock)
    for _ in range(4):
        limits.failed("Nurse Ada", "local")
    limits.succeeded("Nurse Ada")
    limits.failed("Nurse Ada", "local")
    assert limits.wait_s("Nurse Ada", "local") == 0
    for _ in range(3):
        limits.failed("Nurse Ada", "local")
    clock.now += 16 * 60  # beyond the window: those count no more
    limits.failed("Nurse Ada", "local")
    assert limits.wait_s("Nurse Ada", "local") == 0


def test_the_page_hides_the_nurse_list_and_locks_out_a_guesser(
    users: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in form (served before any page, dashboard/server.py) and its one check."""
    from dashboard import auth, server

    monkeypatch.setenv("CHAIRSIDE_USERS", str(users))
    monkeypatch.setenv(signin_limits.HIDE_NURSE_LIST_ENV, "1")
    monkeypatch.setattr(signin_limits, "LIMITS", SignInLimits())
    form = server.sign_in_page("/")
    assert "<select" not in form and "Nurse Ada" not in form  # nobody learns who works here
    assert '<input id="nurse" name="nurse"' in form

    def sign_in(password: str) -> str | None:
        return judge(
            "Nurse Ada", "client-a", lambda: bool(auth.check_password("Nurse Ada", password))
        )

    for guess in ("a", "b", "c", "d", "e"):
        assert "not recognised" in sign_in(guess)
    # the right one, too late: refused without even checking it
    assert "Too many failed sign-ins: try again in 5 min" in sign_in("lovelace")


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chairside.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def https_health(port: int, context: ssl.SSLContext) -> bytes:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        conn.request("GET", "/_stcore/health")
        return conn.getresponse().read()
    finally:
        conn.close()


def test_the_dashboard_serves_https_with_streamlits_certificate_settings(
    sample_store: Path, users: Path, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = child_env() | {
        "STREAMLIT_SERVER_SSL_CERT_FILE": str(cert),
        "STREAMLIT_SERVER_SSL_KEY_FILE": str(key),
    }
    args = ["dashboard", "--db", str(sample_store), "--users", str(users), "--port", str(port)]
    child = subprocess.Popen(
        chairside_command(*args),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    trusting = ssl.create_default_context(cafile=str(cert))
    try:
        deadline, answer = time.monotonic() + 60, b""
        while time.monotonic() < deadline and not answer:
            try:
                answer = https_health(port, trusting)
            except OSError:
                time.sleep(0.3)
        assert answer == b"ok"
        with pytest.raises(ssl.SSLCertVerificationError):  # a certificate it does not trust
            https_health(port, ssl.create_default_context())
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with pytest.raises((http.client.HTTPException, OSError)):  # no plain HTTP beside it
            plain.request("GET", "/_stcore/health")
            plain.getresponse()
    finally:
        child.terminate()
        child.wait(timeout=20)
