"""Query languages of SaaS APIs that read like SQL: QuickBooks Online's and Salesforce's.

MetaBrainz.org (metabrainz/metabrainz.org, `metabrainz/admin/quickbooks/views.py`,
`metabrainz/invoices/send_invoices.py`) reads its invoices through python-quickbooks:
`Invoice.query("select * from invoice where Id = '%s'" % ..., qb=client)`, an entity class
of `quickbooks.objects` sending QuickBooks' query language to Intuit's API: one false
DBS301 (`invoice`) and two statements "not analysed" (`... maxresults 300`). Salesforce's
SOQL through simple-salesforce (`sf.query_all("SELECT Id FROM Contact")`) is the same
shape. The module shows where they go; PostgreSQL statements beside them stay checked.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_INVOICES = '''\
from quickbooks import QuickBooks
from quickbooks.objects.invoice import Invoice
from quickbooks.objects import Customer
from simple_salesforce import Salesforce


def copy_invoices(client, base_id, db):
    found = Invoice.query("select * from invoice where Id = '%s'" % base_id, qb=client)
    recent = Invoice.query(
        "select * from invoice order by metadata.createtime desc maxresults 300", qb=client)
    customers = Customer.query("SELECT * FROM Customer WHERE Active = true", qb=client)
    db.execute("SELECT nickname FROM supporter")
    return found, recent, customers


def company(auth_client):
    client = QuickBooks(auth_client=auth_client, refresh_token="t", company_id="1")
    return client.query("SELECT * FROM CompanyInfo")


def contacts(db):
    sf = Salesforce(username="u", password="p", security_token="t")
    rows = sf.query_all("SELECT Id, Email FROM Contact WHERE LastName = 'Jones'")
    db.execute("SELECT id FROM contact")
    return rows, sf.query("SELECT Id FROM Account")
'''


@pytest.mark.db
def test_quickbooks_and_salesforce_queries_are_not_postgresql(database_url: str,
                                                              tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "invoices.py", _INVOICES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 12, "public.supporter.nickname"),
        ("DBS301", 24, "public.contact")]
    skipped = {s.location.line: s.reason for s in report.skipped}
    assert skipped == {8: "sent to QuickBooks Online, not PostgreSQL",
                       10: "sent to QuickBooks Online, not PostgreSQL",
                       11: "sent to QuickBooks Online, not PostgreSQL",
                       18: "sent to QuickBooks Online, not PostgreSQL",
                       23: "sent to Salesforce, not PostgreSQL",
                       25: "sent to Salesforce, not PostgreSQL"}


# Onyx's Salesforce permission sync (onyx-dot-app/onyx,
# `backend/ee/onyx/external_permissions/salesforce/utils.py`) fills its SOQL in with
# simple-salesforce's `format_soql(...)`, then sends it through a client of its own class
# (`sf_client: OnyxSalesforce`, made in another module): 6 false DBS302 (`user.id`,
# `user.isactive`, ...) and a false DBS301 (`userrecordaccess`).
_FORMAT_SOQL = '''\
import simple_salesforce
from simple_salesforce.format import format_soql


def user_id(sf_client, email):
    query = format_soql(
        "SELECT Id FROM User WHERE Username = {email} AND IsActive = true", email=email)
    return sf_client.query(query)


def access(sf_client, record_ids, user_id):
    query = simple_salesforce.format_soql(
        "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE RecordId IN {ids}",
        ids=record_ids)
    return sf_client.query_all(query)


def local(db, email):
    return db.execute("SELECT nickname FROM supporter WHERE email = %s", (email,))
'''


@pytest.mark.db
def test_a_query_simple_salesforce_fills_in_is_soql(database_url: str,
                                                    tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE supporter (name text, email text)",
                             "permissions.py", _FORMAT_SOQL)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 19, "public.supporter.nickname")]
    assert {s.location.line: s.reason for s in report.skipped} == {
        7: "sent to Salesforce, not PostgreSQL", 13: "sent to Salesforce, not PostgreSQL"}


# Tendenci (tendenci/tendenci, `tendenci/apps/base/utils.py`) makes its client in a
# function that returns None when the settings lack credentials or the login fails, then
# sends SOQL through what it returns (`sf = get_salesforce_access()`, `sf.query("SELECT
# Id FROM Contact WHERE Email='%s'" % ...)`): a `return None` sends nothing, so every
# client it returns is Salesforce's.
_MAYBE_CLIENT = '''\
from django.conf import settings
from simple_salesforce import Salesforce


def get_salesforce_access():
    if hasattr(settings, "SALESFORCE_USERNAME"):
        try:
            sf = Salesforce(username=settings.SALESFORCE_USERNAME, password="p",
                            security_token="t")
            return sf
        except Exception:
            print("Salesforce authentication failed")
    return None


def contact_id(user, db):
    sf = get_salesforce_access()
    result = sf.query("SELECT Id FROM Contact WHERE Email='%s'" % user.email)
    db.execute("SELECT nickname FROM supporter")
    return result


def maybe_local(flag, db):
    if flag:
        return db
    return None


def local(db):
    return maybe_local(True, db).execute("SELECT id FROM contact")
'''


@pytest.mark.db
def test_a_client_a_function_returns_or_none_is_salesforces(database_url: str,
                                                             tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "utils.py", _MAYBE_CLIENT)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 19, "public.supporter.nickname"),
        ("DBS301", 30, "public.contact")]
    assert {s.location.line: s.reason for s in report.skipped} == {
        18: "sent to Salesforce, not PostgreSQL"}


# RapidPro (nyaruka/rapidpro c4e8d4872a, `temba/msgs/tests/test_msg_folder.py`) checks the
# Amazon S3 Select expressions its archives are queried with: a tuple of expected
# `SELECT s.* FROM s3object s WHERE ...`, one false DBS301 on `s3object` each (6). S3
# Select reads one table, the object; a table of that name in the schema is still checked.
_S3_SELECT = '''\
from temba.utils import s3


def test_get_archive_query(folders):
    tcs = (
        ("inbox", "SELECT s.* FROM s3object s WHERE s.direction = 'in' AND s.flow IS NULL"),
        ("sent", "SELECT s.* FROM S3Object s WHERE s.status IN ('wired', 'sent')"),
    )
    for folder, expected_select in tcs:
        select = s3.compile_select(where=folders[folder])
        assert select == expected_select


def archived(client, db):
    client.select_object_content(Expression="SELECT s.* FROM s3object s WHERE s.id > 1")
    db.execute("SELECT nickname FROM supporter")
    return db.execute("SELECT s.nickname FROM public.s3object s")
'''


@pytest.mark.db
def test_s3_selects_object_is_not_a_postgresql_table(database_url: str,
                                                     tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                             "test_msg_folder.py", _S3_SELECT)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 16, "public.supporter.nickname"),
        ("DBS301", 17, "public.s3object")]
    reason = ("not analysed: reads `s3object`, the object Amazon S3 Select queries: SQL for "
              "S3 Select, not PostgreSQL")
    assert {s.location.line: s.reason for s in report.skipped if s.location} == {
        6: reason, 7: reason, 15: reason}


@pytest.mark.db
def test_a_table_named_s3object_is_checked(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE s3object (id int)",
                             "archive.py", _S3_SELECT)
    assert sorted((f.location.line, f.code, f.subject) for f in report.findings
                  if f.location) == [
        (6, "DBS302", "public.s3object.direction"),
        (6, "DBS302", "public.s3object.flow"),
        (7, "DBS302", "public.s3object.status"),
        (16, "DBS301", "public.supporter"),
        (17, "DBS302", "public.s3object.nickname")]
