# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import re
from itertools import chain

try:
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat
except ImportError:
    phonenumbers = None
from pypinyin import Style, lazy_pinyin

from sql.conditionals import Coalesce

from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import is_full_text, lstrip_wildcard

_CJK = re.compile('[\u3400-\u9fff\uf900-\ufaff]')
_PHONE_LIKE = re.compile(r'^\+?[\d\s\-().]{5,}$')
_CODE_SEPARATORS = re.compile(r'[\s\-./]')
_CODE_LIKE = re.compile(r'^(?=.*[0-9])[0-9A-Z]{5,}$')


def name_pinyin(name):
    """Return the pinyin and the pinyin initials of a name containing Chinese
    characters, so 张三丰 is found as 'zhangsanfeng' or 'zsf'."""
    if not name or not _CJK.search(name):
        return None
    syllables = [s for s in lazy_pinyin(name) if s.strip()]
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER)
    full = ''.join(syllables).replace(' ', '').lower()
    short = ''.join(i for i in initials if i.strip()).lower()
    return f'{full} {short}'


def normalize_phone(value, country_code=None):
    "Return the E.164 form of a phone number or None when it is not one"
    if not phonenumbers or not value or not _PHONE_LIKE.match(value.strip()):
        return None
    for code in chain([country_code] if country_code else [], [None]):
        try:
            number = phonenumbers.parse(value, code)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def is_mobile_number(value):
    "Tell if a phone number in its E.164 form is a mobile number"
    if not phonenumbers:
        return False
    number_type = phonenumbers.number_type(phonenumbers.parse(value))
    return number_type in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def compact_code(value):
    """Return an identifier code without the spaces, dashes, dots and slashes
    people write in it, in upper case: the form code_compact stores"""
    return _CODE_SEPARATORS.sub('', value).upper()


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    name_pinyin = fields.Char(
        "Name Pinyin", readonly=True,
        help="The pinyin and initials of the name, used by the search.")
    crm_customers = fields.One2Many(
        'crm.customer', 'party', "CRM Records")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            # The domain searches the column as Coalesce(column, '')
            Index(t, (Coalesce(t.name_pinyin, ''), Index.Similarity())))

    @classmethod
    def create(cls, vlist):
        vlist = [v.copy() for v in vlist]
        for values in vlist:
            if 'name' in values:
                values['name_pinyin'] = name_pinyin(values['name'])
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        args = list(args)
        for i in range(1, len(args), 2):
            if 'name' in args[i]:
                args[i] = {
                    **args[i], 'name_pinyin': name_pinyin(args[i]['name'])}
        super().write(*args)

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('crm_customers')
        return super().copy(parties, default=default)

    @classmethod
    def search_rec_name(cls, name, clause):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        _, operator, operand, *extra = clause
        if not isinstance(operand, str):
            return super().search_rec_name(name, clause)
        positive = not (operator.startswith('!') or operator.startswith('not '))
        code_value = value = operand
        if operator.endswith('like') and is_full_text(operand):
            code_value = lstrip_wildcard(operand)
            value = code_value.rstrip('%')
        if positive:
            phone = normalize_phone(value, Configuration.phone_country_code())
            if phone:
                # A phone number is looked up exactly, which an index serves
                return [('contact_mechanisms.value_compact', '=', phone)]
        domain = super().search_rec_name(name, clause)
        domain.append(('crm_customers.external_ids.code',
                operator, code_value, *extra))
        compact = compact_code(value)
        if positive and compact != value and _CODE_LIKE.match(compact):
            # A tax identifier written with spaces or dashes
            domain.append(('identifiers.code_compact', '=', compact))
        if operand.isascii():
            domain.append(('name_pinyin', operator, operand.lower(), *extra))
        return domain


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            # The domain searches the column as Coalesce(column, '')
            Index(t, (Coalesce(t.value_compact, ''),
                    Index.Equality(cardinality='high'))))

    @fields.depends('party', '_parent_party.addresses')
    def _phone_country_codes(self):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        yield from super()._phone_country_codes()
        if code := Configuration.phone_country_code():
            yield code


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'

    crm_teams = fields.Many2Many(
        'crm.team-company.employee', 'employee', 'team', "CRM Teams")
