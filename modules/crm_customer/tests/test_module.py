# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime
import unittest
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace
from unittest.mock import patch

import holidays

from trytond.exceptions import UserError, UserWarning
from trytond.model import ModelSQL
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee)
from trytond.modules.crm_customer.activity import ActivityValidationError
from trytond.modules.crm_customer.calendar_cn import (
    birthday_keys_between, festivals_between, lunar_month_day)
from trytond.modules.crm_customer.handover import distribute
from trytond.modules.crm_customer.party import name_pinyin, normalize_phone
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.modules.party.tests import PartyCheckReplaceMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, inactive_records


def frozen_utc(*args):
    "Make ir.date see the given UTC time as now"
    now = datetime.datetime(*args, tzinfo=datetime.timezone.utc)

    class FrozenDateTime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return now.astimezone(tz) if tz else now.replace(tzinfo=None)
    return patch('trytond.ir.date.datetime',
        SimpleNamespace(datetime=FrozenDateTime))


IMPORT_HEADER = (
    'external_id,parent_external_id,name,type,tax_identifier,mobile,phone,'
    'email,street,postal_code,city,subdivision,country,industry,source,'
    'owner,team,vip,key_account,birthday,birthday_calendar,credit_limit\r\n')
# Written as the export writes, so the export gives it back byte for byte
IMPORT_ROWS = (
    'C001,,上海宏达机械有限公司,enterprise,91310000MA1FL0XX1C,'
    '+86 138 1234 5678,+86 21 6555 1234,info@hongda.example,人民路1号,'
    '200001,上海,CN-SH,CN,制造业,展会,E001,华东销售部,1,1,,,12345678.90\r\n'
    ',C001,王经理,,,+86 139 9876 5432,,wang@hongda.example,,,,,,,,,,,,,,\r\n'
    ',C001,李会计,,,,+86 21 6555 1235,,,,,,,,,,,,,,,\r\n'
    'C002,,张三丰,individual,,+86 137 0000 0001,,,,,,,,,,E001,,0,0,'
    '1980-02-16,lunar,0.01\r\n'
    'C003,,Acme Trading,enterprise,91110108MA01AB2C3T,,,,,,,,,,,,,0,0,,,'
    '99999999999999.99\r\n')


def create_customer(company, name):
    pool = Pool()
    Customer = pool.get('crm.customer')
    Party = pool.get('party.party')
    party = Party(name=name)
    party.save()
    customer = Customer(party=party, company=company)
    customer.save()
    return customer


def set_phone_country_china():
    pool = Pool()
    Configuration = pool.get('crm.configuration')
    Country = pool.get('country.country')
    china, = Country.create([{'name': "China", 'code': 'CN'}])
    Configuration.write([Configuration(1)], {'phone_country': china.id})


def create_alert(customer, rule, period, **values):
    pool = Pool()
    Alert = pool.get('crm.alert')
    alert, = Alert.create([{
                'company': customer.company.id,
                'rule': rule.id,
                'kind': rule.kind,
                'level': rule.level,
                'customer': customer.id,
                'period': period,
                **values,
                }])
    return alert


class DistributeTestCase(unittest.TestCase):
    "Sharing customers among employees"

    def test_round_robin(self):
        self.assertEqual(
            distribute([1, 2, 3, 4, 5], [10, 20], 'round_robin'),
            {10: [1, 3, 5], 20: [2, 4]})

    def test_round_robin_more_employees(self):
        self.assertEqual(
            distribute([1], [10, 20, 30], 'round_robin'),
            {10: [1], 20: [], 30: []})

    def test_balanced_counts_existing_customers(self):
        "The employee with fewer customers gets more until they even out"
        self.assertEqual(
            distribute([1, 2, 3, 4, 5], [10, 20], 'balanced', {10: 3}),
            {10: [4], 20: [1, 2, 3, 5]})

    def test_balanced_ties_follow_employee_order(self):
        self.assertEqual(
            distribute([1, 2, 3], [10, 20, 30], 'balanced'),
            {10: [1], 20: [2], 30: [3]})


class PhoneTestCase(unittest.TestCase):
    "Phone numbers written any usual way"

    def test_chinese_mobile_forms(self):
        for value in [
                '13812345678', '138 1234 5678', '138-1234-5678',
                '+86 138 1234 5678', '+8613812345678',
                '0086-138-1234-5678', '+86-138-1234-5678', '138.1234.5678']:
            with self.subTest(value=value):
                self.assertEqual(
                    normalize_phone(value, 'CN'), '+8613812345678')

    def test_landline_with_area_code(self):
        self.assertEqual(normalize_phone('010-6552 9988', 'CN'),
            '+861065529988')

    def test_without_default_country(self):
        self.assertIsNone(normalize_phone('13812345678'))
        self.assertEqual(
            normalize_phone('+86 138 1234 5678'), '+8613812345678')

    def test_not_a_phone(self):
        for value in ['', None, 'ABC123', '12', 'zhang@example.com',
                '138123456789999999']:
            with self.subTest(value=value):
                self.assertIsNone(normalize_phone(value, 'CN'))


class PinyinTestCase(unittest.TestCase):
    "Pinyin and initials of Chinese names"

    def test_full_and_initials(self):
        self.assertEqual(name_pinyin('张三丰'), 'zhangsanfeng zsf')

    def test_mixed_name(self):
        self.assertEqual(
            name_pinyin('上海ABC贸易有限公司'),
            'shanghaiabcmaoyiyouxiangongsi shabcmyyxgs')

    def test_latin_name(self):
        self.assertIsNone(name_pinyin('Acme Ltd'))
        self.assertIsNone(name_pinyin(None))


class ChineseCalendarTestCase(unittest.TestCase):
    "Festivals and lunar birthdays against the holidays library"

    def test_festivals_2025_2040(self):
        "The festivals fall on the days China observes them"
        names = {
            'new_year': '元旦',
            'spring_festival': '春节',
            'dragon_boat_festival': '端午节',
            'mid_autumn_festival': '中秋节',
            'national_day': '国庆节',
            }
        for year in range(2025, 2041):
            observed = holidays.China(years=year, language='zh_CN')
            for key, name in names.items():
                with self.subTest(year=year, festival=key):
                    first = min(d for d, n in observed.items()
                        if name in n.split('; '))
                    (_, date), = festivals_between(
                        [key], datetime.date(year, 1, 1), datetime.date(year, 12, 31))
                    self.assertEqual(date, first)

    def birthday_dates(self, birthday, calendar, start, end):
        if calendar == 'lunar':
            month, day = lunar_month_day(birthday)
        else:
            month, day = birthday.month, birthday.day
        keys = birthday_keys_between(start, end)
        return sorted(d for (c, k), d in keys.items()
            if (c, k) == (calendar, month * 100 + day))

    def test_lunar_birthday(self):
        "A lunar birthday moves with the lunar calendar"
        birthday = datetime.date(1980, 2, 16)  # the first day of the lunar year
        self.assertEqual(lunar_month_day(birthday), (1, 1))
        self.assertEqual(
            self.birthday_dates(birthday, 'lunar',
                datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)),
            [datetime.date(2026, 2, 17)])
        self.assertEqual(
            self.birthday_dates(birthday, 'lunar',
                datetime.date(2027, 1, 1), datetime.date(2027, 12, 31)),
            [datetime.date(2027, 2, 6)])

    def test_lunar_birthday_twice_in_a_year(self):
        "A lunar date of the 11th month can fall twice in a Gregorian year"
        birthday = datetime.date(1991, 1, 5)  # 20th of the 11th lunar month
        self.assertEqual(lunar_month_day(birthday), (11, 20))
        keys = birthday_keys_between(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))
        self.assertEqual(keys[('lunar', 1120)], datetime.date(2026, 1, 8))
        keys = birthday_keys_between(
            datetime.date(2026, 12, 1), datetime.date(2026, 12, 31))
        self.assertEqual(keys[('lunar', 1120)], datetime.date(2026, 12, 28))

    def test_lunar_30th_in_a_short_month(self):
        "The 30th of a lunar month of 29 days is celebrated on the 29th"
        keys = birthday_keys_between(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
        for (calendar, key), date in keys.items():
            if calendar == 'lunar' and key % 100 == 30:
                month, day = lunar_month_day(date)
                self.assertEqual(month * 100 + 30, key)
                self.assertIn(day, {29, 30})

    def test_solar_birthday_on_29_february(self):
        self.assertEqual(
            self.birthday_dates(datetime.date(1980, 2, 29), 'solar',
                datetime.date(2027, 1, 1), datetime.date(2027, 12, 31)),
            [datetime.date(2027, 2, 28)])
        self.assertEqual(
            self.birthday_dates(datetime.date(1980, 2, 29), 'solar',
                datetime.date(2028, 1, 1), datetime.date(2028, 12, 31)),
            [datetime.date(2028, 2, 29)])


class CrmCustomerTestCase(
        TranslationCheckMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test the crm_customer module"
    module = 'crm_customer'
    extras = [
        'account_credit_limit', 'party_relationship', 'sale_complaint',
        'sale_opportunity', 'sale_price_list']

    @with_transaction()
    def test_overdue_company_time_zone(self):
        "A task is overdue once its due date has passed where its company is"
        pool = Pool()
        Activity = pool.get('crm.activity')
        shanghai = create_company("上海贸易")
        shanghai.timezone = 'Asia/Shanghai'
        shanghai.save()
        los_angeles = create_company("LA Trading", currency=shanghai.currency)
        los_angeles.timezone = 'America/Los_Angeles'
        los_angeles.save()
        tasks = {}
        for company in [shanghai, los_angeles]:
            tasks[company], = Activity.create([{
                        'company': company.id,
                        'type': 'task',
                        'customer': create_customer(company, "客户").id,
                        'subject': "Send the quotation",
                        'assignee': create_employee(company).id,
                        'due_date': datetime.date(2026, 3, 1),
                        }])
        done, = Activity.copy([tasks[shanghai]])
        Activity.do([done])

        for utc, overdue in [
                # 23:59 in Shanghai, 07:59 in Los Angeles on 1 March
                ((2026, 3, 1, 15, 59), set()),
                # Just after midnight in Shanghai, still 1 March in LA
                ((2026, 3, 1, 16, 1), {shanghai}),
                # Just after midnight in Los Angeles
                ((2026, 3, 2, 8, 1), {shanghai, los_angeles}),
                ]:
            with self.subTest(utc=utc), frozen_utc(*utc):
                expected = {tasks[c] for c in overdue}
                self.assertEqual(
                    {Activity(r['id']) for r in Activity.read(
                            [*map(int, tasks.values()), done.id], ['overdue'])
                        if r['overdue']},
                    expected)
                self.assertEqual(
                    set(Activity.search([('overdue', '=', True)])),
                    expected)
                self.assertEqual(
                    set(Activity.search([('overdue', '!=', True)])),
                    {*tasks.values(), done} - expected)
                self.assertEqual(
                    set(Activity.search([('overdue', '=', False)])),
                    {*tasks.values(), done} - expected)

    @with_transaction()
    def test_activity_customer_other_company(self):
        "An activity cannot be about a customer of another company"
        pool = Pool()
        Activity = pool.get('crm.activity')
        company = create_company()
        other = create_company("Other", currency=company.currency)
        customer = create_customer(other, "Customer")
        with self.assertRaisesRegex(
                ActivityValidationError, 'does not belong to the company'):
            Activity.create([{
                        'company': company.id,
                        'customer': customer.id,
                        'subject': "Call",
                        }])

    @with_transaction()
    def test_last_activity(self):
        "The last done activity of many customers is read and searched"
        pool = Pool()
        Activity = pool.get('crm.activity')
        Customer = pool.get('crm.customer')
        company = create_company()
        with Transaction().set_context(company=company.id):
            active, planning, silent = [
                create_customer(company, name)
                for name in ["Active", "Planning", "Silent"]]
            times = [datetime.datetime(2026, 3, d, 9, 30) for d in (1, 5, 9)]
            activities = Activity.create([{
                        'customer': customer.id,
                        'subject': "Call",
                        'start': start,
                        } for customer, start in [
                        (active, times[0]), (active, times[1]),
                        (active, times[2]), (planning, times[0])]])
            Activity.do(activities[:2])
            Activity.cancel(activities[2:3])

            self.assertEqual(
                {c: c.last_activity for c in Customer.browse(
                        [active, planning, silent])},
                {active: times[1], planning: None, silent: None})
            for clause, result in [
                    (('last_activity', '=', times[1]), [active]),
                    (('last_activity', '>', times[0]), [active]),
                    (('last_activity', '<', times[1]), []),
                    (('last_activity', '=', None), [planning, silent]),
                    (('last_activity', '!=', None), [active]),
                    ]:
                with self.subTest(clause=clause):
                    self.assertEqual(
                        Customer.search([clause], order=[('id', 'ASC')]),
                        result)

    @with_transaction()
    def test_fields_to_merge_cover_customer_links(self):
        "Every stored link to a customer follows it when parties merge"
        pool = Pool()
        Replace = pool.get('party.replace', type='wizard')
        to_merge = set(Replace.crm_customer_fields_to_merge())
        for model_name, field_name in to_merge:
            with self.subTest(model=model_name, field=field_name):
                field = pool.get(model_name)._fields[field_name]
                self.assertEqual(field._type, 'many2one')
                self.assertEqual(field.model_name, 'crm.customer')
        for model_name, Model in pool.iterobject():
            if (not issubclass(Model, ModelSQL) or Model._is_table_query()
                    or model_name == 'crm.customer'):
                continue
            for field_name, field in Model._fields.items():
                if (field._type == 'many2one'
                        and field.model_name == 'crm.customer'
                        and not hasattr(field, 'get')):
                    with self.subTest(model=model_name, field=field_name):
                        self.assertIn((model_name, field_name), to_merge)

    @with_transaction()
    def test_documents_to_hand_over(self):
        "The documents handed over name an employee and a customer link"
        pool = Pool()
        Handover = pool.get('crm.customer.handover', type='wizard')
        documents = Handover.documents_to_hand_over()
        self.assertIn(('sale.opportunity', 'employee', 'party',
                [('state', 'in', ['lead', 'opportunity'])]), documents)
        for model_name, field_name, link, domain in documents:
            with self.subTest(model=model_name, field=field_name):
                Model = pool.get(model_name)
                self.assertEqual(
                    Model._fields[field_name].model_name, 'company.employee')
                self.assertIn(Model._fields[link].model_name,
                    {'crm.customer', 'party.party'})
                self.assertEqual(
                    Model._fields['company'].model_name, 'company.company')
                Model.search(domain)

    @with_transaction()
    def test_contact_history(self):
        "Contact changes of a customer's party are recorded once, formatted"
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        History = pool.get('crm.customer.history')
        company = create_company()
        set_phone_country_china()
        customer = create_customer(company, "张三")
        mobile, = ContactMechanism.create([{
                    'party': customer.party.id,
                    'type': 'mobile',
                    'value': '13812345678',
                    }])
        ContactMechanism.write([mobile], {'active': False})
        ContactMechanism.write([mobile], {'value': '13912345678'})
        ContactMechanism.delete([mobile])
        # A party without customer has no history
        stranger = pool.get('party.party')(name="路人")
        stranger.save()
        ContactMechanism.create([{
                    'party': stranger.id, 'type': 'mobile',
                    'value': '13700000000'}])

        self.assertEqual(
            [(h.field, h.cause, h.old_value, h.new_value, h.user.id)
                for h in History.search(
                    [], order=[('id', 'ASC')])],
            [('mobile', 'edit', None, '+86 138 1234 5678', 1),
                ('mobile', 'edit', '+86 138 1234 5678', '+86 139 1234 5678',
                    1),
                ('mobile', 'edit', '+86 139 1234 5678', None, 1)])

    @with_transaction()
    def test_replace_moves_or_merges_customers(self):
        """A customer of the source party moves to the destination, or merges
        into the destination's customer of the same company"""
        pool = Pool()
        Activity = pool.get('crm.activity')
        AlertRule = pool.get('crm.alert.rule')
        ContactMechanism = pool.get('party.contact_mechanism')
        Customer = pool.get('crm.customer')
        History = pool.get('crm.customer.history')
        Party = pool.get('party.party')
        Replace = pool.get('party.replace', type='wizard')
        shanghai = create_company("上海贸易")
        beijing = create_company("北京贸易", currency=shanghai.currency)
        source = create_customer(shanghai, "张三")
        source_beijing = Customer(party=source.party, company=beijing)
        source_beijing.save()
        destination = create_customer(shanghai, "张三丰")
        # A duplicate accepted before does not stop the merge
        wife, = Party.create([{'name': "张夫人"}])
        with Transaction().set_context(_skip_warnings=True):
            ContactMechanism.create([{
                        'party': p.id, 'type': 'email',
                        'value': 'zhang@example.com'}
                    for p in [destination.party, wife]])
        rule, = AlertRule.create([{
                    'name': "回访", 'company': shanghai.id,
                    'kind': 'revisit', 'days': 30}])
        kept = create_alert(destination, rule, '2026-01')
        clash = create_alert(source, rule, '2026-01')
        moved = create_alert(source, rule, '2026-02')
        activity, = Activity.create([{
                    'customer': source.id, 'subject': "拜访",
                    'company': shanghai.id}])

        session_id, _, _ = Replace.create()
        replace = Replace(session_id)
        replace.ask.source = source.party
        replace.ask.destination = destination.party
        with patch.object(Replace, 'check_similarity'):
            replace.transition_replace()

        source, source_beijing = Customer.browse([source, source_beijing])
        self.assertFalse(source.active)
        self.assertEqual(source.party, replace.ask.source)
        self.assertTrue(source_beijing.active)
        self.assertEqual(source_beijing.party, destination.party)
        self.assertEqual(Activity(activity.id).customer, destination)
        self.assertEqual(
            {a.id: a.customer for a in [kept, clash, moved]},
            {kept.id: destination, clash.id: source,
                moved.id: destination})
        self.assertEqual(
            {(h.customer, h.field, h.cause, h.old_value, h.new_value)
                for h in History.search([('cause', '=', 'merge')])},
            {(destination, 'party', 'merge', "张三", "张三丰"),
                (source_beijing, 'party', 'merge', "张三", "张三丰")})

    @with_transaction()
    def test_duplicate_warning_key(self):
        """A number written another way is the same duplicate, accepted
        once for always; another party sharing it warns again"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        Party = pool.get('party.party')
        Warning = pool.get('res.user.warning')
        set_phone_country_china()
        first, second, third = Party.create(
            [{'name': n} for n in ["张三", "张三丰", "张三夫人"]])
        ContactMechanism.create([{
                    'party': first.id, 'type': 'phone',
                    'value': '13812345678'}])
        # The same party twice and inactive mechanisms are no duplicates
        ContactMechanism.create([{
                    'party': first.id, 'type': 'mobile',
                    'value': '138 1234 5678'}, {
                    'party': third.id, 'type': 'mobile',
                    'value': '13812345678', 'active': False}])

        with self.assertRaises(UserWarning) as context:
            ContactMechanism.create([{
                        'party': second.id, 'type': 'mobile',
                        'value': '+86 138 1234 5678'}])
        key = context.exception.name
        Warning.create([{'user': 1, 'name': key, 'always': True}])
        mobile, = ContactMechanism.create([{
                    'party': second.id, 'type': 'mobile',
                    'value': '+86 138 1234 5678'}])
        ContactMechanism.write([mobile], {'value': '0086 138 1234 5678'})

        with self.assertRaises(UserWarning) as context, inactive_records():
            ContactMechanism.write(
                ContactMechanism.search([('party', '=', third.id)]),
                {'active': True})
        self.assertNotEqual(context.exception.name, key)

    @with_transaction()
    def test_erase_contact_person(self):
        "Erasing a person erases what was noted about them as a contact"
        pool = Pool()
        Contact = pool.get('crm.customer.contact')
        Erase = pool.get('party.erase', type='wizard')
        Party = pool.get('party.party')
        company = create_company()
        with Transaction().set_context(company=company.id):
            customer = create_customer(company, "明远物流")
            person = Party(name="陈志强")
            person.save()
            contact, = Contact.create([{
                        'customer': customer.id,
                        'party': person.id,
                        'job_title': "总经理",
                        'notes': "周末打高尔夫",
                        }])
            self.assertEqual(contact.company, company)
            Party.write([person], {'active': False})

            session_id, _, _ = Erase.create()
            erase = Erase(session_id)
            erase.ask.party = person
            erase.transition_erase()

        contact = Contact(contact.id)
        self.assertEqual((contact.job_title, contact.notes), (None, None))
        self.assertEqual(contact.customer, customer)

    def import_setup(self):
        "Return a company with what the sample rows name, and a system"
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Country = pool.get('country.country')
        Industry = pool.get('crm.industry')
        Party = pool.get('party.party')
        Source = pool.get('crm.source')
        Subdivision = pool.get('country.subdivision')
        System = pool.get('crm.external.system')
        Team = pool.get('crm.team')
        company = create_company()
        china, = Country.create([{'name': "China", 'code': 'CN'}])
        Subdivision.create([{
                    'country': china.id, 'name': "上海市", 'code': 'CN-SH',
                    'type': 'municipality'}])
        Configuration.write([Configuration(1)], {'phone_country': china.id})
        Industry.create([{'name': "制造业"}])
        Source.create([{'name': "展会"}])
        employee = create_employee(company, "张伟")
        Party.write([employee.party], {'code': 'E001'})
        Team.create([{'name': "华东销售部", 'company': company.id}])
        system, = System.create([{'name': "Kingdee K3", 'code': 'k3'}])
        return company, system

    @contextmanager
    def imported_sample(self):
        "Import the sample rows into a new company; yield it and the system"
        company, system = self.import_setup()
        with Transaction().set_context(company=company.id):
            self.check_import(company, system, IMPORT_HEADER + IMPORT_ROWS,
                to_create=3, matched=0, to_update=0, contacts=2)
            yield company, system

    def check_import(self, company, system, text, **counts):
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        plan = CustomerCSV.check(text.encode('utf-8-sig'), company, system)
        self.assertEqual(plan.error_text(), '')
        self.assertEqual({
                'to_create': len(plan.to_create),
                'matched': len(plan.matched),
                'to_update': len(plan.to_update),
                'contacts': len(plan.contacts),
                }, counts)
        CustomerCSV.write(plan)
        return plan

    @with_transaction()
    def test_import_export_round_trip(self):
        "The export gives back the imported file byte for byte"
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        Customer = pool.get('crm.customer')
        Party = pool.get('party.party')
        text = IMPORT_HEADER + IMPORT_ROWS
        with self.imported_sample() as (company, system):
            customer, = Customer.search([('party.name', '=', "张三丰")])
            self.assertEqual(customer.birthday, datetime.date(1980, 2, 16))
            self.assertEqual(customer.party.credit_limit_amount,
                Decimal('0.01'))
            self.assertEqual(
                CustomerCSV.export(company, system).encode(), text.encode())

            parties = Party.search([], count=True)
            self.check_import(company, system, text,
                to_create=0, matched=0, to_update=3, contacts=2)
            self.assertEqual(Party.search([], count=True), parties)
            self.assertEqual(CustomerCSV.export(company, system), text)

    @with_transaction()
    def test_import_updates(self):
        "A second import with the same external IDs updates the customers"
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        Customer = pool.get('crm.customer')
        Party = pool.get('party.party')
        with self.imported_sample() as (company, system):
            parties = Party.search([], count=True)
            self.check_import(company, system,
                'external_id,parent_external_id,name,mobile,vip,credit_limit'
                '\r\n'
                'C002,,张三丰,13700000002,1,5000.5\r\n'
                ',C001,王经理,13900000000,,\r\n'
                'C004,,新客户,,,\r\n',
                to_create=1, matched=0, to_update=1, contacts=1)
            self.assertEqual(Party.search([], count=True), parties + 1)
            customer, = Customer.search([('party.name', '=', "张三丰")])
            self.assertEqual(customer.mobile, '+86 137 0000 0002')
            self.assertTrue(customer.vip)
            self.assertEqual(customer.birthday, datetime.date(1980, 2, 16))
            self.assertEqual(
                str(customer.party.credit_limit_amount), '5000.5')
            self.assertEqual(ContactMechanism.search([
                        ('party', '=', customer.party.id),
                        ('type', '=', 'mobile'),
                        ], count=True), 1)
            wang, = ContactMechanism.search([
                    ('name', '=', "王经理"),
                    ('type', '=', 'mobile'),
                    ])
            self.assertEqual(wang.value, '+86 139 0000 0000')

    @with_transaction()
    def test_import_bad_rows(self):
        "Each bad row is reported with its line and nothing is written"
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        Customer = pool.get('crm.customer')
        Party = pool.get('party.party')
        company, system = self.import_setup()
        text = (
            'external_id,parent_external_id,name,type,mobile,birthday,'
            'credit_limit,owner\r\n'
            'C001,,好客户,enterprise,13812345678,,100.00,E001\r\n'
            'C002,,,individual,12345,1980-02-30,1e3,\r\n'
            '\r\n'
            'C001,,重复,,,,,\r\n'
            ',C001,王经理,,,,,\r\n'
            ',C009,李四,,13912345678,,,\r\n'
            'C005,,客户五,company,,,100.001,王五\r\n'
            'C006,,客户六\r\n')
        parties = Party.search([], count=True)
        with Transaction().set_context(company=company.id):
            plan = CustomerCSV.check(text.encode('gbk'), company, system)
            self.assertEqual(plan.error_text().splitlines(), [
                    'Line 3: "12345" is not a valid phone number.',
                    'Line 3: "1980-02-30" is not a date '
                    'written like 2024-03-31.',
                    'Line 3: "1e3" is not a number written like 1234.56.',
                    'Line 3: The column "name" needs a value.',
                    'Line 5: The external ID "C001" is already on line 2.',
                    'Line 6: A contact person needs a mobile, phone '
                    'or e-mail.',
                    'Line 7: No customer has the external ID "C009".',
                    'Line 8: "company" is not one of individual, enterprise.',
                    'Line 8: "100.001" has more than 2 decimals.',
                    'Line 8: No owner is named "王五".',
                    'Line 9: The line has 3 cells but the header has 8.',
                    ])
            with self.assertRaisesRegex(UserError, r'has errors \(11\)'):
                CustomerCSV.write(plan)
        self.assertEqual(Customer.search([], count=True), 0)
        self.assertEqual(Party.search([], count=True), parties)

    @with_transaction()
    def test_import_file_errors(self):
        "A file that cannot be read is refused with the line"
        pool = Pool()
        CustomerCSV = pool.get('crm.customer.csv')
        company, system = self.import_setup()
        for data, error in [
                (b'', 'Line 1: The file has no header line.'),
                ('external_id,nom\r\n'.encode(),
                    'Line 1: The column "nom" is unknown.'),
                ('name,mobile\r\n'.encode(),
                    'Line 1: The column "external_id" is missing.'),
                ('external_id,name,name\r\n'.encode(),
                    'Line 1: The column "name" appears twice.'),
                ('external_id,name\r\nC1,张三\r\n'.encode('gbk'),
                    'Line 2: The file is not UTF-8 or GBK text from here on.'),
                ]:
            with self.subTest(error=error):
                encoding = 'utf-8' if 'UTF-8' in error else 'auto'
                plan = CustomerCSV.check(data, company, system, encoding)
                self.assertEqual(plan.error_text(), error)

    @with_transaction()
    def test_import_matches_party_by_tax_identifier(self):
        "A party known by its tax identifier gets the external ID"
        pool = Pool()
        Customer = pool.get('crm.customer')
        Party = pool.get('party.party')
        company, system = self.import_setup()
        party, = Party.create([{
                    'name': "宏达机械",
                    'identifiers': [('create', [{
                                    'type': 'cn_vat',
                                    'code': '9131 0000 MA1F L0XX 1C',
                                    }])],
                    }])
        parties = Party.search([], count=True)
        with Transaction().set_context(company=company.id):
            self.check_import(company, system,
                'external_id,name,tax_identifier\r\n'
                'C001,上海宏达机械有限公司,91310000-MA1FL0XX-1C\r\n',
                to_create=1, matched=1, to_update=0, contacts=0)
        self.assertEqual(Party.search([], count=True), parties)
        customer, = Customer.search([])
        self.assertEqual(customer.party, party)
        self.assertEqual(party.name, "上海宏达机械有限公司")
        self.assertEqual(len(party.identifiers), 1)
        self.assertEqual(
            [(e.system, e.code) for e in customer.external_ids],
            [(system, 'C001')])

    @with_transaction()
    def test_search_external_id_and_tax_identifier(self):
        "The search box finds a party by external ID or tax identifier"
        pool = Pool()
        Customer = pool.get('crm.customer')
        Party = pool.get('party.party')
        with self.imported_sample():
            hongda, = Party.search([('name', '=', "上海宏达机械有限公司")])
            for text in ['C001', 'c001', '91310000MA1FL0XX1C',
                    '9131 0000 MA1F L0XX 1C', '91310000-ma1fl0xx-1c']:
                with self.subTest(text=text):
                    self.assertEqual(Party.search(
                            [('rec_name', 'ilike', f'%{text}%')]), [hongda])
                    self.assertEqual(
                        [c.party for c in Customer.search(
                                [('rec_name', 'ilike', f'%{text}%')])],
                        [hongda])
            self.assertNotIn(hongda, Party.search(
                    [('rec_name', 'not ilike', '%C001%')]))


del ModuleTestCase
