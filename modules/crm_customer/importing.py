# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Customers, their contact persons and external IDs to and from CSV.

crm.customer.csv holds the one piece of code the wizards and
scripts/import_customers.py call: it reads the whole file, checks every row
against the database and writes only when no row is bad, in the caller's
transaction, with one search or create per batch of rows."""
import csv
import datetime as dt
import io
import re
from collections import defaultdict
from decimal import Decimal
from functools import partial

from stdnum.cn import uscc

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Model, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONEncoder
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, inactive_records
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .customer import CUSTOMER_TYPES
from .party import compact_code, normalize_phone

BATCH = 500
ENCODINGS = [
    ('auto', "Detect (UTF-8 or GBK)"),
    ('utf-8', "UTF-8"),
    ('gbk', "GBK"),
    ]
_CODECS = {
    # GB18030 is the superset of GBK that Chinese Windows writes
    'auto': ['utf-8-sig', 'gb18030'],
    'utf-8': ['utf-8-sig'],
    'gbk': ['gb18030'],
    }
_DECIMAL = re.compile(r'^(0|[1-9][0-9]*)(\.[0-9]+)?$')
_DATE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')
_TRUE = {'1', 'true', 'yes', 'y', '是'}
_FALSE = {'0', 'false', 'no', 'n', '否'}
# Tryton names the Unified Social Credit Code by its VAT alias
USCC_TYPE = 'cn_vat'
CONTACT_TYPES = ['mobile', 'phone', 'email']
ADDRESS_COLUMNS = ['street', 'postal_code', 'city', 'subdivision', 'country']
CUSTOMER_COLUMNS = {
    # column: field of crm.customer
    'type': 'customer_type',
    'industry': 'industry',
    'source': 'source',
    'owner': 'owner',
    'team': 'team',
    'vip': 'vip',
    'key_account': 'key_account',
    'birthday': 'birthday',
    'birthday_calendar': 'birthday_calendar',
    }


class RowError(ValueError):
    "A value or line of the file that cannot be read"

    def __init__(self, message, line=None, **variables):
        super().__init__(message, variables)
        self.message = message
        self.line = line
        self.variables = variables


def decode(data, encoding='auto'):
    "Return the text of data and the codec that read it"
    for codec in _CODECS[encoding]:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exception:
            line = data[:exception.start].count(b'\n') + 1
    raise RowError('msg_import_encoding', line=line)


def read_rows(text):
    """Yield the line where each record that is not empty starts, with its
    cells; a quoted cell may span lines"""
    reader = csv.reader(io.StringIO(text, newline=''), strict=True)
    line = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exception:
        raise RowError('msg_import_csv', line=line, error=str(exception))


def parse_decimal(text):
    "Read an amount written like 1234.56, exactly"
    if not _DECIMAL.match(text):
        raise RowError('msg_import_decimal', value=text)
    return Decimal(text)


def parse_amount(text, digits):
    value = parse_decimal(text)
    if -value.as_tuple().exponent > digits and value != round(value, digits):
        raise RowError('msg_import_amount_digits', value=text, digits=digits)
    return value


def format_decimal(value):
    return format(value, 'f') if value is not None else ''


def parse_date(text):
    "Read a date written like 2024-03-31"
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise RowError('msg_import_date', value=text)


def format_date(value):
    return value.isoformat() if value else ''


def parse_boolean(text):
    key = text.lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise RowError('msg_import_boolean', value=text)


def format_boolean(value):
    return '1' if value else '0'


def parse_selection(text, keys):
    if text not in keys:
        raise RowError(
            'msg_import_selection', value=text, values=', '.join(keys))
    return text


def parse_phone(text, country_code):
    "Return the E.164 form of a phone number"
    phone = normalize_phone(text, country_code)
    if not phone:
        raise RowError('msg_import_phone', value=text)
    return phone


def parse_email(text):
    if not _EMAIL.match(text):
        raise RowError('msg_import_email', value=text)
    return text


def parse_tax_identifier(text):
    "Return the compact form of a Unified Social Credit Code"
    code = compact_code(text)
    if not uscc.is_valid(code):
        raise RowError('msg_import_tax_identifier', value=text)
    return code


class Row:
    "A customer or contact row of the file and the records it matches"
    __slots__ = ('line', 'values', 'party', 'customer', 'external_id',
        'customer_type', 'new_party')

    def __init__(self, line, values):
        self.line = line
        self.values = values
        self.party = None
        # A new party has no address, identifier or contact mechanism
        self.new_party = False
        self.customer = None
        self.external_id = None
        self.customer_type = None

    @property
    def code(self):
        return self.values.get('external_id')


class Plan:
    "What an import will write, and the errors that prevent it"

    def __init__(self, company, system):
        self.company = company
        self.system = system
        self.codec = None
        self.customers = []
        self.contacts = []
        self.errors = []
        # The customer rows left out for their errors, still checked
        # against the database to report all errors at once
        self.rejected = []

    def error(self, line, message, **variables):
        self.errors.append((line, gettext(
                    'crm_customer.msg_import_line', line=line,
                    error=gettext(f'crm_customer.{message}', **variables))))

    @property
    def to_create(self):
        return [r for r in self.customers if not r.external_id]

    @property
    def to_update(self):
        return [r for r in self.customers if r.external_id]

    @property
    def matched(self):
        "The new external IDs given to parties found by tax identifier"
        return [r for r in self.to_create if r.party]

    def error_text(self):
        return '\n'.join(text for _, text in sorted(
                self.errors, key=lambda e: e[0]))


class CustomerCSV(Model):
    "Customers, their contact persons and external IDs as CSV"
    __name__ = 'crm.customer.csv'

    @classmethod
    def parsers(cls, company):
        "Return the parser of each column, in the order of the export"
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        phone = partial(
            parse_phone, country_code=Configuration.phone_country_code())
        return {
            'external_id': str,
            'parent_external_id': str,
            'name': str,
            'type': partial(
                parse_selection, keys=[k for k, _ in CUSTOMER_TYPES]),
            'tax_identifier': parse_tax_identifier,
            'mobile': phone,
            'phone': phone,
            'email': parse_email,
            'street': str,
            'postal_code': str,
            'city': str,
            'subdivision': str,
            'country': str,
            'industry': str,
            'source': str,
            'owner': str,
            'team': str,
            'vip': parse_boolean,
            'key_account': parse_boolean,
            'birthday': parse_date,
            'birthday_calendar': partial(
                parse_selection, keys=['solar', 'lunar']),
            }

    @classmethod
    def contact_columns(cls):
        "The columns a contact row may fill"
        return {'parent_external_id', 'name', *CONTACT_TYPES}

    @classmethod
    def check(cls, data, company, system, encoding='auto'):
        "Return the plan of the import of the CSV data with its errors"
        plan = Plan(company, system)
        try:
            text, plan.codec = decode(data, encoding)
            cls._parse(plan, read_rows(text))
        except RowError as exception:
            plan.error(exception.line, exception.message,
                **exception.variables)
        cls._resolve(plan)
        return plan

    @classmethod
    def _parse(cls, plan, rows):
        parsers = cls.parsers(plan.company)
        header = next(rows, None)
        if not header:
            raise RowError('msg_import_empty', line=1)
        line, columns = header
        columns = [c.strip().lower() for c in columns]
        for column in columns:
            if column not in parsers:
                raise RowError(
                    'msg_import_column_unknown', line=line, column=column)
            if columns.count(column) > 1:
                raise RowError(
                    'msg_import_column_duplicate', line=line, column=column)
        for column in ['external_id', 'name']:
            if column not in columns:
                raise RowError(
                    'msg_import_column_missing', line=line, column=column)
        seen = {}
        for line, cells in rows:
            if len(cells) != len(columns):
                plan.error(line, 'msg_import_cell_count',
                    cells=len(cells), columns=len(columns))
                continue
            values, valid = {}, True
            for column, cell in zip(columns, cells):
                cell = cell.strip()
                if not cell:
                    continue
                try:
                    values[column] = parsers[column](cell)
                except RowError as exception:
                    plan.error(line, exception.message, **exception.variables)
                    valid = False
            row = Row(line, values)
            if 'parent_external_id' in values:
                if cls._check_contact(plan, row, seen) and valid:
                    plan.contacts.append(row)
            elif cls._check_customer(plan, row, seen) and valid:
                plan.customers.append(row)
            else:
                plan.rejected.append(row)

    @classmethod
    def _check_unique(cls, plan, row, seen, message, key, **variables):
        "Report a key already seen on another line"
        if key in seen:
            plan.error(row.line, message, other=seen[key], **variables)
            return False
        seen[key] = row.line
        return True

    @classmethod
    def _check_customer(cls, plan, row, seen):
        valid = True
        for column in ['external_id', 'name']:
            if column not in row.values:
                plan.error(row.line, 'msg_import_required', column=column)
                valid = False
        if row.code:
            valid &= cls._check_unique(plan, row, seen,
                'msg_import_duplicate_external_id', ('external_id', row.code),
                code=row.code)
        if code := row.values.get('tax_identifier'):
            valid &= cls._check_unique(plan, row, seen,
                'msg_import_duplicate_tax_identifier',
                ('tax_identifier', code), code=code)
        return valid

    @classmethod
    def _check_contact(cls, plan, row, seen):
        valid = True
        allowed = cls.contact_columns()
        for column in row.values.keys() - allowed:
            plan.error(row.line, 'msg_import_contact_column', column=column)
            valid = False
        if 'name' not in row.values:
            plan.error(row.line, 'msg_import_required', column='name')
            valid = False
        elif not row.values.keys() & set(CONTACT_TYPES):
            plan.error(row.line, 'msg_import_contact_empty')
            valid = False
        else:
            parent, name = row.values['parent_external_id'], row.values['name']
            valid &= cls._check_unique(plan, row, seen,
                'msg_import_contact_duplicate', ('contact', parent, name),
                code=parent, name=name)
        return valid

    @classmethod
    def _resolve(cls, plan):
        "Find the records the rows name, reporting what is unknown"
        with inactive_records():
            cls._resolve_external_ids(plan)
            cls._resolve_tax_identifiers(plan)
        cls._resolve_references(plan)
        cls._resolve_contacts(plan)

    @classmethod
    def _resolve_external_ids(cls, plan):
        pool = Pool()
        ExternalId = pool.get('crm.customer.external_id')
        codes = {r.code for r in plan.customers} | {
            r.values['parent_external_id'] for r in plan.contacts}
        # The customers of the external IDs known already, by code
        plan.existing = {}
        for sub in grouped_slice(sorted(codes), BATCH):
            for values in ExternalId.search_read([
                        ('company', '=', plan.company.id),
                        ('system', '=', plan.system.id),
                        ('code', 'in', list(sub)),
                        ], fields_names=[
                        'code', 'customer.party', 'customer.customer_type']):
                plan.existing[values['code']] = {
                    'external_id': values['id'], **values['customer.']}
        for row in plan.customers:
            if existing := plan.existing.get(row.code):
                row.external_id = existing['external_id']
                row.customer = existing['id']
                row.party = existing['party']
                row.customer_type = existing['customer_type']

    @classmethod
    def _resolve_tax_identifiers(cls, plan):
        """Check that no other party has the tax identifier of a row and
        give a new external ID to the party that has it"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        ExternalId = pool.get('crm.customer.external_id')
        Identifier = pool.get('party.identifier')
        rows = [r for r in plan.customers if 'tax_identifier' in r.values]
        parties, names = defaultdict(set), {}
        for sub in grouped_slice(
                sorted({r.values['tax_identifier'] for r in rows}), BATCH):
            for values in Identifier.search_read([
                        ('code_compact', 'in', list(sub)),
                        ], fields_names=['code_compact', 'party.rec_name']):
                party = values['party.']
                parties[values['code_compact']].add(party['id'])
                names[party['id']] = party['rec_name']
        for row in rows:
            code = row.values['tax_identifier']
            found = parties.get(code, set())
            others = sorted(found - {row.party})
            if row.party and others:
                plan.error(row.line, 'msg_import_tax_identifier_used',
                    code=code, party=names[others[0]])
            elif len(found) > 1:
                plan.error(row.line, 'msg_import_tax_identifier_ambiguous',
                    code=code)
            elif found and not row.party:
                row.party, = found

        matched = {r.party: r for r in plan.to_create if r.party}
        for sub in grouped_slice(list(matched), BATCH):
            customers = {}
            for values in Customer.search_read([
                        ('party', 'in', list(sub)),
                        ('company', '=', plan.company.id),
                        ], fields_names=['party', 'customer_type']):
                row = matched[values['party']]
                row.customer = values['id']
                row.customer_type = values['customer_type']
                customers[row.customer] = row
            for values in ExternalId.search_read([
                        ('customer', 'in', list(customers)),
                        ('system', '=', plan.system.id),
                        ], fields_names=['code', 'customer']):
                row = customers[values['customer']]
                plan.error(row.line, 'msg_import_party_other_external_id',
                    party=names[row.party], code=values['code'])

    @classmethod
    def references(cls, company):
        """Return for the columns that name records the domain that finds
        them and the fields that name them"""
        return {
            'industry': ('crm.industry', [], ['name']),
            'source': ('crm.source', [], ['name']),
            'team': ('crm.team', [('company', '=', company.id)], ['name']),
            'owner': ('company.employee', [('company', '=', company.id)],
                ['party.code', 'party.name']),
            'country': ('country.country', [], ['code', 'code3', 'name']),
            'subdivision': ('country.subdivision', [], ['code', 'name']),
            }

    @classmethod
    def _resolve_references(cls, plan):
        "Replace in the rows the names of records by their ids"
        pool = Pool()
        for column, (model, domain, names) in cls.references(
                plan.company).items():
            Reference = pool.get(model)
            rows = plan.customers + plan.rejected
            texts = sorted({r.values[column] for r in rows
                    if column in r.values})
            index = defaultdict(list)
            for sub in grouped_slice(texts, BATCH):
                sub = set(sub)
                for record in Reference.search([domain,
                            ['OR', *((n, 'in', list(sub)) for n in names)]]):
                    for name in names:
                        value = record
                        for attribute in name.split('.'):
                            value = getattr(value, attribute)
                        if value in sub and record not in index[value]:
                            index[value].append(record)
            for row in rows:
                if column not in row.values:
                    continue
                text = row.values[column]
                found = cls._candidates(column, row, index.get(text, []))
                if found is None:
                    continue
                elif not found:
                    plan.error(row.line, 'msg_import_unknown',
                        column=column, value=text)
                elif len(found) > 1:
                    plan.error(row.line, 'msg_import_ambiguous',
                        column=column, value=text)
                else:
                    row.values[column] = found[0].id
                    if column == 'subdivision':
                        row.values['country'] = found[0].country.id

    @classmethod
    def _candidates(cls, column, row, records):
        """Return the records the cell of the row may name, or None when its
        other cells are wrong already"""
        pool = Pool()
        SubdivisionType = pool.get('party.address.subdivision_type')
        if column != 'subdivision':
            return records
        country = row.values.get('country')
        if isinstance(country, str):
            return None  # the unknown country is reported
        records = [s for s in records
            if not country or s.country.id == country]
        if records and (types := SubdivisionType.get_types(
                    records[0].country)):
            records = [s for s in records if s.type in types]
        return records

    @classmethod
    def _resolve_contacts(cls, plan):
        "Find the enterprise of each contact person"
        in_file = {r.code: r for r in plan.customers}
        rejected = {r.code for r in plan.rejected}
        for row in plan.contacts:
            code = row.values['parent_external_id']
            parent = in_file.get(code)
            if parent:
                customer_type = parent.values.get(
                    'type', parent.customer_type or 'enterprise')
            elif existing := plan.existing.get(code):
                customer_type = existing['customer_type']
                row.party = existing['party']
            elif code in rejected:
                continue
            else:
                plan.error(row.line, 'msg_import_contact_parent', code=code)
                continue
            if customer_type != 'enterprise':
                plan.error(row.line, 'msg_import_contact_parent_individual',
                    code=code)

    @classmethod
    def write(cls, plan):
        "Write what the plan checked, all or nothing"
        if plan.errors:
            raise UserError(gettext('crm_customer.msg_import_errors',
                    count=len(plan.errors)))
        # The user confirmed the preview: numbers or e-mails that other
        # parties share do not stop the import half-way with a warning
        with Transaction().set_context(_skip_warnings=True):
            parties = {}
            for rows in grouped_slice(plan.customers, BATCH):
                rows = list(rows)
                cls._write_batch(plan, rows)
                parties.update((r.code, r.party) for r in rows)
            for row in plan.contacts:
                row.party = parties.get(
                    row.values['parent_external_id'], row.party)
            for rows in grouped_slice(plan.contacts, BATCH):
                cls._write_contact_mechanisms(
                    list(rows), named=True)

    @classmethod
    def _write_batch(cls, plan, rows):
        "Write the parties, customers and external IDs of the rows"
        cls._write_party_names([r for r in rows if r.party])
        cls._create_parties([r for r in rows if not r.party])
        cls._write_identifiers(rows)
        cls._write_addresses(rows)
        cls._write_contact_mechanisms(rows)
        cls._write_customers(plan, rows)
        cls._create_external_ids(plan, rows)

    @classmethod
    def _create_parties(cls, rows):
        pool = Pool()
        Party = pool.get('party.party')
        # No default empty address: the rows bring theirs
        parties = Party.create([{
                    'name': r.values['name'],
                    'addresses': [],
                    } for r in rows])
        for row, party in zip(rows, parties):
            row.party = party.id
            row.new_party = True

    @classmethod
    def _changes(cls, Model_, ids, rows, values_of):
        """Return the write arguments that give the records of ids the values
        their rows have, leaving out what they have already"""
        new_values = [values_of(r) for r in rows]
        names = sorted(set().union(*new_values))
        if not names:
            return []
        current = {v['id']: v for v in Model_.read(ids, names)}
        by_values = defaultdict(list)
        for id_, values in zip(ids, new_values):
            values = {
                name: value for name, value in values.items()
                if (cls._comparable(current[id_][name])
                    != cls._comparable(value))}
            if values:
                by_values[tuple(sorted(values.items()))].append(id_)
        return [a for values, ids in by_values.items()
            for a in (Model_.browse(ids), dict(values))]

    @staticmethod
    def _comparable(value):
        if isinstance(value, Decimal):
            # 5000.0 is written again as 5000.00 so it exports the same
            return str(value)
        return value

    @classmethod
    def _write_party_names(cls, rows):
        pool = Pool()
        Party = pool.get('party.party')
        args = cls._changes(Party, [r.party for r in rows], rows,
            lambda r: {'name': r.values['name']})
        if args:
            Party.write(*args)

    @classmethod
    def _first_by_party(cls, Model_, rows, domain=None):
        "Return the id of the first Model_ of each old party of the rows"
        first = {}
        parties = [r.party for r in rows if not r.new_party]
        for sub in grouped_slice(parties, BATCH):
            for values in Model_.search_read([
                        ('party', 'in', list(sub)),
                        *(domain or []),
                        ], order=[('sequence', 'ASC NULLS FIRST'),
                        ('id', 'ASC')], fields_names=['party']):
                first.setdefault(values['party'], values['id'])
        return first

    @classmethod
    def _write_identifiers(cls, rows):
        "Give the parties their Unified Social Credit Code"
        pool = Pool()
        Identifier = pool.get('party.identifier')
        rows = [r for r in rows if 'tax_identifier' in r.values]
        current = cls._first_by_party(
            Identifier, rows, [('type', '=', USCC_TYPE)])
        Identifier.create([{
                    'party': r.party,
                    'type': USCC_TYPE,
                    'code': r.values['tax_identifier'],
                    } for r in rows if r.party not in current])
        rows = [r for r in rows if r.party in current]
        to_write = cls._changes(Identifier, [current[r.party] for r in rows],
            rows, lambda r: {'code': r.values['tax_identifier']})
        if to_write:
            Identifier.write(*to_write)

    @classmethod
    def _write_addresses(cls, rows):
        "Fill the first address of the parties"
        pool = Pool()
        Address = pool.get('party.address')

        def values_of(row):
            return {c: row.values[c] for c in ADDRESS_COLUMNS
                if c in row.values}

        def create_values(row):
            # The street setter would write each address again
            values = {'party': row.party, **values_of(row)}
            if 'street' in values:
                values['street_unstructured'] = values.pop('street')
            return values
        rows = [r for r in rows if r.values.keys() & set(ADDRESS_COLUMNS)]
        current = cls._first_by_party(Address, rows)
        to_create = [create_values(r)
            for r in rows if r.party not in current]
        rows = [r for r in rows if r.party in current]
        to_write = cls._changes(
            Address, [current[r.party] for r in rows], rows, values_of)
        Address.create(to_create)
        if to_write:
            Address.write(*to_write)

    @classmethod
    def _write_contact_mechanisms(cls, rows, named=False):
        """Give the parties the mobile, phone and e-mail of the rows:
        a value they have already is kept, else the first contact mechanism
        of the type and name takes it, else a new one is made"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        rows = [r for r in rows if r.values.keys() & set(CONTACT_TYPES)]
        current = defaultdict(list)
        parties = {r.party for r in rows if not r.new_party}
        for sub in grouped_slice(parties, BATCH):
            for values in ContactMechanism.search_read([
                        ('party', 'in', list(sub)),
                        ('type', 'in', CONTACT_TYPES),
                        ], order=[('sequence', 'ASC NULLS FIRST'),
                        ('id', 'ASC')],
                    fields_names=['party', 'type', 'name', 'value_compact']):
                key = (values['party'], values['type'], values['name'] or None)
                current[key].append(values)
        to_create, to_write = [], []
        for row in rows:
            name = row.values['name'] if named else None
            for type_ in CONTACT_TYPES:
                value = row.values.get(type_)
                if not value:
                    continue
                mechanisms = current[(row.party, type_, name)]
                if any(m['value_compact'] == value for m in mechanisms):
                    continue
                elif mechanisms:
                    to_write.extend((
                            ContactMechanism.browse([mechanisms[0]['id']]),
                            {'value': value}))
                else:
                    to_create.append({
                            'party': row.party,
                            'type': type_,
                            'value': value,
                            'name': name,
                            })
        ContactMechanism.create(to_create)
        if to_write:
            ContactMechanism.write(*to_write)

    @classmethod
    def _write_customers(cls, plan, rows):
        pool = Pool()
        Customer = pool.get('crm.customer')

        def values_of(row):
            return {field: row.values[column]
                for column, field in CUSTOMER_COLUMNS.items()
                if column in row.values}
        new = [r for r in rows if not r.customer]
        old = [r for r in rows if r.customer]
        customers = Customer.create([{
                    'party': r.party,
                    'company': plan.company.id,
                    **values_of(r),
                    } for r in new])
        for row, customer in zip(new, customers):
            row.customer = customer.id
        to_write = cls._changes(
            Customer, [r.customer for r in old], old, values_of)
        if to_write:
            Customer.write(*to_write)

    @classmethod
    def _create_external_ids(cls, plan, rows):
        pool = Pool()
        ExternalId = pool.get('crm.customer.external_id')
        ExternalId.create([{
                    'customer': r.customer,
                    'company': plan.company.id,
                    'system': plan.system.id,
                    'code': r.code,
                    } for r in rows if not r.external_id])

    @classmethod
    def export(cls, company, system):
        "Return as CSV text the customers with an external ID in system"
        pool = Pool()
        ExternalId = pool.get('crm.customer.external_id')
        columns = list(cls.parsers(company))
        output = io.StringIO(newline='')
        writer = csv.writer(output)
        writer.writerow(columns)
        with inactive_records():
            external_ids = ExternalId.search([
                    ('company', '=', company.id),
                    ('system', '=', system.id),
                    ], order=[('code', 'ASC')])
        for sub in grouped_slice(external_ids, BATCH):
            for values in cls._export_rows(company, list(sub)):
                writer.writerow([values.get(c, '') for c in columns])
        return output.getvalue()

    @classmethod
    def _export_rows(cls, company, external_ids):
        """Yield the cells of the customers of the external IDs, each followed
        by its contact persons"""
        pool = Pool()
        Address = pool.get('party.address')
        ContactMechanism = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')

        class Party:
            "What the rows of a party gather"
            __slots__ = ('address', 'identifier', 'mechanisms', 'contacts')

            def __init__(self):
                self.address = self.identifier = None
                self.mechanisms = {}
                self.contacts = defaultdict(dict)
        customers = [e.customer for e in external_ids]
        parties = {c.party.id: Party() for c in customers}
        party_ids = list(parties)
        order = [('sequence', 'ASC NULLS FIRST'), ('id', 'ASC')]
        # The first address, identifier and contact mechanism of each kind
        for address in Address.search(
                [('party', 'in', party_ids)], order=order):
            party = parties[address.party.id]
            party.address = party.address or address
        for identifier in Identifier.search([
                    ('party', 'in', party_ids),
                    ('type', '=', USCC_TYPE),
                    ], order=order):
            party = parties[identifier.party.id]
            party.identifier = party.identifier or identifier
        for mechanism in ContactMechanism.search([
                    ('party', 'in', party_ids),
                    ('type', 'in', CONTACT_TYPES),
                    ], order=order):
            party = parties[mechanism.party.id]
            if mechanism.name:
                mechanisms = party.contacts[mechanism.name]
            else:
                mechanisms = party.mechanisms
            mechanisms.setdefault(mechanism.type, mechanism.value)

        cells = cls._export_customers(company, customers)
        for external_id, customer in zip(external_ids, customers):
            party = parties[customer.party.id]
            yield {
                **cells[customer.id],
                'external_id': external_id.code,
                'tax_identifier': (
                    party.identifier.code_compact if party.identifier else ''),
                **party.mechanisms,
                **cls._export_address(party.address),
                }
            for name, mechanisms in party.contacts.items():
                yield {
                    'parent_external_id': external_id.code,
                    'name': name,
                    **mechanisms,
                    }

    @classmethod
    def _export_customers(cls, company, customers):
        "Return the cells of each customer by id"
        cells = {}
        for customer in customers:
            owner = customer.owner
            cells[customer.id] = {
                'name': customer.party.name,
                'type': customer.customer_type,
                'industry': (
                    customer.industry.name if customer.industry else ''),
                'source': customer.source.name if customer.source else '',
                'owner': (
                    (owner.party.code or owner.party.name) if owner else ''),
                'team': customer.team.name if customer.team else '',
                'vip': format_boolean(customer.vip),
                'key_account': format_boolean(customer.key_account),
                'birthday': format_date(customer.birthday),
                'birthday_calendar': (
                    customer.birthday_calendar if customer.birthday else ''),
                }
        return cells

    @classmethod
    def _export_address(cls, address):
        if not address:
            return {}
        return {
            'street': address.street or '',
            'postal_code': address.postal_code or '',
            'city': address.city or '',
            'subdivision': (
                address.subdivision.code if address.subdivision else ''),
            'country': address.country.code if address.country else '',
            }


class CustomerCSVCreditLimit(metaclass=PoolMeta):
    __name__ = 'crm.customer.csv'

    @classmethod
    def parsers(cls, company):
        return {
            **super().parsers(company),
            'credit_limit': partial(
                parse_amount, digits=company.currency.digits),
            }

    @classmethod
    def _write_batch(cls, plan, rows):
        pool = Pool()
        CreditLimit = pool.get('party.party.credit_limit_amount')
        super()._write_batch(plan, rows)
        rows = [r for r in rows if 'credit_limit' in r.values]
        current = {v['party']: v['id'] for v in CreditLimit.search_read([
                    ('party', 'in', [r.party for r in rows]),
                    ('company', '=', plan.company.id),
                    ], fields_names=['party'])}
        CreditLimit.create([{
                    'party': r.party,
                    'company': plan.company.id,
                    'credit_limit_amount': r.values['credit_limit'],
                    } for r in rows if r.party not in current])
        rows = [r for r in rows if r.party in current]
        to_write = cls._changes(
            CreditLimit, [current[r.party] for r in rows], rows,
            lambda r: {'credit_limit_amount': r.values['credit_limit']})
        if to_write:
            CreditLimit.write(*to_write)

    @classmethod
    def _export_customers(cls, company, customers):
        pool = Pool()
        CreditLimit = pool.get('party.party.credit_limit_amount')
        cells = super()._export_customers(company, customers)
        limits = {l.party.id: l.credit_limit_amount
            for l in CreditLimit.search([
                    ('party', 'in', [c.party.id for c in customers]),
                    ('company', '=', company.id),
                    ])}
        for customer in customers:
            cells[customer.id]['credit_limit'] = format_decimal(
                limits.get(customer.party.id))
        return cells


def _context_company():
    pool = Pool()
    Company = pool.get('company.company')
    return Company(Transaction().context['company'])


class CustomerImport(Wizard):
    "Import customers, contact persons and external IDs from CSV"
    __name__ = 'crm.customer.import'
    start = StateView('crm.customer.import.start',
        'crm_customer.customer_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView('crm.customer.import.preview',
        'crm_customer.customer_import_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True,
                states={
                    'readonly': Eval('error_count', 0) > 0,
                    }),
            ])
    import_ = StateTransition()
    open_ = StateAction('crm_customer.act_customer_form')

    def _plan(self):
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        return CustomerCSV.check(self.start.file, _context_company(),
            self.start.system, self.start.encoding)

    def default_preview(self, fields):
        plan = self._plan()
        return {
            'system': self.start.system.id,
            'codec': plan.codec,
            'to_create': len(plan.to_create),
            'matched': len(plan.matched),
            'to_update': len(plan.to_update),
            'contacts': len(plan.contacts),
            'error_count': len(plan.errors),
            'errors': plan.error_text(),
            }

    def transition_import_(self):
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        # The file is checked again: the database may have changed since
        CustomerCSV.write(self._plan())
        return 'open_'

    def do_open_(self, action):
        system = self.start.system
        action['name'] += f' ({system.rec_name})'
        action['pyson_domain'] = PYSONEncoder().encode(
            [('external_ids.system', '=', system.id)])
        return action, {}


class CustomerImportStart(ModelView):
    __name__ = 'crm.customer.import.start'

    system = fields.Many2One(
        'crm.external.system', "External System", required=True,
        help="The system the external IDs of the file come from.")
    file = fields.Binary("File", required=True, filename='filename',
        help="A CSV file with a header line; "
        "the module's README lists its columns.")
    filename = fields.Char("File Name")
    encoding = fields.Selection(ENCODINGS, "Encoding", required=True)

    @classmethod
    def default_encoding(cls):
        return 'auto'


class CustomerImportPreview(ModelView):
    __name__ = 'crm.customer.import.preview'

    system = fields.Many2One(
        'crm.external.system', "External System", readonly=True)
    codec = fields.Char("Read As", readonly=True)
    to_create = fields.Integer(
        "New Customers", readonly=True,
        help="The rows whose external ID is new.")
    matched = fields.Integer(
        "Existing Parties", readonly=True,
        help="The new customers found as parties by their tax identifier.")
    to_update = fields.Integer(
        "Customers to Update", readonly=True,
        help="The rows whose external ID is known.")
    contacts = fields.Integer("Contact Persons", readonly=True)
    error_count = fields.Integer("Errors", readonly=True)
    errors = fields.Text("Errors", readonly=True)


class CustomerExport(Wizard):
    "Export the customers with their external IDs as CSV"
    __name__ = 'crm.customer.export'
    start = StateView('crm.customer.export.start',
        'crm_customer.customer_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('crm.customer.export.result',
        'crm_customer.customer_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        system = self.start.system
        text = CustomerCSV.export(_context_company(), system)
        return {
            'file': text.encode(_CODECS[self.start.encoding][0]),
            'filename': f'{system.code}-customers.csv',
            }


class CustomerExportStart(ModelView):
    __name__ = 'crm.customer.export.start'

    system = fields.Many2One(
        'crm.external.system', "External System", required=True)
    encoding = fields.Selection(ENCODINGS[1:], "Encoding", required=True)

    @classmethod
    def default_encoding(cls):
        return 'utf-8'


class CustomerExportResult(ModelView):
    __name__ = 'crm.customer.export.result'

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)
