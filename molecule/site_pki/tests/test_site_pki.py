"""TW-05, TW-08: the site CA issues, reuses, renews and revokes certificates on the controller."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from conftest import recap, run_playbook
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_files import HOST, INSTALLED, NAME, PKI, archived_serials, ca, cert, leaf

testinfra_hosts = [f"ansible://{HOST}"]


def days(c: x509.Certificate) -> int:
    return (c.not_valid_after_utc - c.not_valid_before_utc).days


def converge(**extra_vars: object) -> str:
    proc = run_playbook("converge.yml", extra_vars=extra_vars or None)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout


def test_tw08_the_ca_is_a_ten_year_ca_with_a_private_key() -> None:
    c = ca()
    bc = c.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign
    assert 3649 <= days(c) <= 3650
    assert isinstance(c.public_key(), ec.EllipticCurvePublicKey)
    assert c.public_key().curve.name == "secp256r1"
    assert stat.S_IMODE((PKI / "ca" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(PKI.stat().st_mode) == 0o700


def test_tw08_a_leaf_carries_the_requested_names_and_usage_and_is_signed_by_the_ca(host) -> None:
    c = leaf()
    c.verify_directly_issued_by(ca())
    assert c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert HOST in sans.get_values_for_type(x509.DNSName)
    assert len(sans.get_values_for_type(x509.IPAddress)) == 1
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert 729 <= days(c) <= 730
    assert stat.S_IMODE((PKI / "issued" / NAME / "key.pem").stat().st_mode) == 0o600
    # What the host received is what the controller issued.
    assert host.file(f"{INSTALLED}/cert.pem").content_string == (PKI / "issued" / NAME / "cert.pem").read_text()
    assert host.file(f"{INSTALLED}/key.pem").mode == 0o600
    assert c.serial_number in archived_serials()


def test_tw08_a_change_of_names_renews_the_certificate() -> None:
    before = leaf().serial_number
    converge(pki_test_sans=[f"DNS:{HOST}", f"DNS:{HOST}.example.org"])
    renewed = leaf()
    assert renewed.serial_number != before
    sans = renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"{HOST}.example.org" in sans.get_values_for_type(x509.DNSName)
    assert {before, renewed.serial_number} <= archived_serials()
    converge()  # back to the scenario's names


def test_tw08_a_certificate_close_to_expiry_is_renewed_once() -> None:
    before = leaf().serial_number
    # 730 days left < 750: renew, now for 800 days; then 800 > 750: keep.
    converge(site_pki_leaf_days=800, site_pki_renew_days=750)
    renewed = leaf()
    assert renewed.serial_number != before
    assert 799 <= days(renewed) <= 800
    out = converge(site_pki_leaf_days=800, site_pki_renew_days=750)
    assert leaf().serial_number == renewed.serial_number
    assert recap(out)[HOST]["changed"] == 0


def test_tw05_revoking_a_name_lists_all_its_certificates_in_the_signed_crl(host) -> None:
    converge(pki_test_sans=[f"DNS:{HOST}", f"DNS:old-name.{HOST}"])  # a superseded certificate too
    converge()
    serials = archived_serials()
    assert len(serials) >= 2
    assert (PKI / "issued" / NAME).is_dir()  # positive control: what the revocation must remove
    proc = run_playbook("revoke.yml", extra_vars={"revoke_name": NAME})
    assert proc.returncode == 0, proc.stdout[-3000:]
    crl = x509.load_pem_x509_crl((PKI / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca().public_key())
    listed = {r.serial_number: r for r in crl}
    assert serials <= set(listed)
    reason = listed[min(serials)].extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    assert not (PKI / "issued" / NAME).exists()
    # Revoking again changes nothing.
    again = run_playbook("revoke.yml", extra_vars={"revoke_name": NAME})
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    # The next run issues a new key and certificate that is not revoked.
    converge()
    fresh = leaf()
    assert fresh.serial_number not in listed
    assert host.file(f"{INSTALLED}/cert.pem").content_string == (PKI / "issued" / NAME / "cert.pem").read_text()


@pytest.fixture
def own_ca(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ward office own CA")])
    now = dt.datetime.now(dt.UTC)
    c = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "own-ca.pem").write_bytes(c.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "own-ca.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tmp_path / "own-ca.pem", tmp_path / "own-ca.key"


def test_tw08_a_ca_brought_by_the_inventory_signs_the_leaves(own_ca: tuple[Path, Path], tmp_path: Path) -> None:
    ca_cert, ca_key = own_ca
    pki = tmp_path / "pki"
    try:
        converge(site_pki_dir=str(pki), site_pki_ca_cert_path=str(ca_cert), site_pki_ca_key_path=str(ca_key))
        issued = cert(pki / "issued" / NAME / "cert.pem")
        issued.verify_directly_issued_by(cert(ca_cert))
        # The role makes no key of its own: where it keeps one (as in the scenario's default
        # directory, the positive control), this directory has none.
        assert (PKI / "ca" / "ca.key").exists()
        assert not (pki / "ca" / "ca.key").exists()
    finally:
        converge()  # the host gets the scenario's own certificate back
