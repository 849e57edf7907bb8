# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime as dt
import unittest
from decimal import Decimal

from sql import Literal, Select

import trytond.config as config
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.modules.crm_sale_pipeline.collection import (
    misplaced, percent, split_amount)
from trytond.modules.crm_sale_pipeline.common import lines_fingerprint
from trytond.modules.crm_sale_pipeline.lead import (
    lead_grade, lead_scores, next_member)
from trytond.modules.crm_sale_pipeline.lead_intake import (
    LeadError, match_parties)
from trytond.modules.crm_sale_pipeline.price import line_floor
from trytond.modules.crm_sale_pipeline.reporting import (
    add_days, days_between, stage_positions)
from trytond.modules.crm_sale_pipeline.support import support_priority
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, ModuleTestCase, RouteTestCase, with_transaction)
from trytond.transaction import Transaction


class FloorTestCase(unittest.TestCase):
    "The lowest price the floor rules allow"

    def test_discount_from_list_price(self):
        self.assertEqual(
            line_floor(Decimal(200), Decimal(100), [(Decimal('0.1'), None)]),
            Decimal(180))

    def test_margin_over_cost(self):
        self.assertEqual(
            line_floor(Decimal(200), Decimal(100), [(None, Decimal('0.5'))]),
            Decimal(150))

    def test_strictest_rule_wins(self):
        self.assertEqual(
            line_floor(Decimal(200), Decimal(100), [
                    (Decimal('0.3'), Decimal('0.5')),
                    (Decimal('0.2'), None)]),
            Decimal(160))

    def test_no_price_no_floor(self):
        "A rule on a price the product does not have sets no floor"
        self.assertIsNone(
            line_floor(None, Decimal(0), [(Decimal('0.1'), Decimal('0.2'))]))
        self.assertIsNone(line_floor(Decimal(200), Decimal(100), []))


class FingerprintTestCase(unittest.TestCase):
    "The fingerprint of the priced lines of a quotation"

    lines = [(1, 2.0, 1, Decimal('85000')), (2, 1.0, 1, Decimal('10.5'))]

    def test_order_and_scale_do_not_matter(self):
        "Lines in another order and prices with trailing zeros are the same"
        self.assertEqual(
            lines_fingerprint(1, self.lines),
            lines_fingerprint(1, [
                    (2, 1, 1, Decimal('10.5000')),
                    (1, 2, 1, Decimal('85000.0000'))]))

    def test_every_value_counts(self):
        reference = lines_fingerprint(1, self.lines)
        for changed in [
                [(1, 2.0, 1, Decimal('84999.99')), self.lines[1]],
                [(1, 3.0, 1, Decimal('85000')), self.lines[1]],
                [(1, 2.0, 2, Decimal('85000')), self.lines[1]],
                [(3, 2.0, 1, Decimal('85000')), self.lines[1]],
                self.lines[:1],
                self.lines + [(3, 1.0, 1, Decimal(0))],
                ]:
            with self.subTest(lines=changed):
                self.assertNotEqual(
                    lines_fingerprint(1, changed), reference)
        self.assertNotEqual(lines_fingerprint(2, self.lines), reference)

    def test_terms(self):
        "Further terms count, their amounts whatever their scale"
        reference = lines_fingerprint(1, self.lines, Decimal('170010.50'), 3)
        self.assertEqual(
            lines_fingerprint(1, self.lines, Decimal('170010.5'), 3),
            reference)
        for terms in [
                (Decimal('170010.51'), 3),
                (Decimal('170010.50'), 4),
                (Decimal('170010.50'), None),
                ()]:
            with self.subTest(terms=terms):
                self.assertNotEqual(
                    lines_fingerprint(1, self.lines, *terms), reference)


class CollectionPlanTestCase(unittest.TestCase):
    "Shares and order of the milestones of a collection plan"

    @staticmethod
    def round(value):
        return value.quantize(Decimal('0.01'))

    def test_shares_add_up_to_the_total(self):
        "Rounded shares still make the total"
        amounts = split_amount(
            Decimal('100.00'), [Decimal(1) / 3 * 100] * 3, self.round)
        self.assertEqual(
            amounts, [Decimal('33.33'), Decimal('33.34'), Decimal('33.33')])
        self.assertEqual(sum(amounts), Decimal('100.00'))

    def test_shares_of_a_partial_plan(self):
        "Percentages under 100 share only their part of the total"
        self.assertEqual(
            split_amount(Decimal('1000'), [Decimal(30), Decimal(60)],
                self.round),
            [Decimal('300.00'), Decimal('600.00')])

    def test_events_in_order(self):
        self.assertIsNone(misplaced(
                [('order', 7), ('delivery', 30), ('acceptance', 90)]))
        self.assertIsNone(misplaced(
                [('order', 0), ('order', 30), ('invoice', 0), ('date', 0),
                    ('delivery', 0), ('invoice', 60)]))

    def test_event_before_an_earlier_event(self):
        "Acceptance never comes before delivery"
        self.assertEqual(
            misplaced([('order', 0), ('acceptance', 0), ('delivery', 30)]), 2)

    def test_fewer_days_after_the_same_event(self):
        self.assertEqual(misplaced([('invoice', 30), ('invoice', 10)]), 1)

    def test_fixed_dates_compare_by_date(self):
        "Lines on fixed dates have no days to compare"
        self.assertIsNone(misplaced([('date', 30), ('date', 0)]))

    def test_percent(self):
        self.assertEqual(percent(Decimal('95.00')), '95')
        self.assertEqual(percent(Decimal('100')), '100')
        self.assertEqual(percent(Decimal('99.50')), '99.5')


class SupportPriorityTestCase(unittest.TestCase):
    "The priority of a support request from the deal and the customer"

    def test_top_tier(self):
        self.assertEqual(support_priority(Decimal(10), 0, Decimal(100)),
            'high')

    def test_large_deal(self):
        self.assertEqual(support_priority(Decimal(100), None, Decimal(100)),
            'high')
        self.assertEqual(support_priority(Decimal(99), None, Decimal(100)),
            'low')

    def test_other_tier(self):
        self.assertEqual(support_priority(Decimal(10), 2, Decimal(100)),
            'normal')

    def test_no_limit(self):
        "Without a high amount, only the tier counts"
        self.assertEqual(support_priority(Decimal(10 ** 9), None, None),
            'low')
        self.assertEqual(support_priority(None, 1, None), 'normal')


class RoundRobinTestCase(unittest.TestCase):
    "The member of a team who gets the next lead"

    def test_turns(self):
        "Each member in turn, starting over after the last"
        last, chosen = None, []
        for _ in range(7):
            last = next_member([30, 10, 20], last)
            chosen.append(last)
        self.assertEqual(chosen, [10, 20, 30, 10, 20, 30, 10])

    def test_fair_share(self):
        "Over many leads no member gets more than one lead more"
        members = [4, 8, 15, 16, 23]
        last, counts = None, dict.fromkeys(members, 0)
        for _ in range(103):
            last = next_member(members, last)
            counts[last] += 1
        self.assertLessEqual(
            max(counts.values()) - min(counts.values()), 1)

    def test_last_member_left(self):
        "After a member who left comes the member after him"
        self.assertEqual(next_member([10, 30], 20), 30)
        self.assertEqual(next_member([10, 20], 30), 10)

    def test_new_member_waits_for_turn(self):
        "A member who joins gets a lead when the turn comes to him"
        self.assertEqual(next_member([10, 20, 25, 30], 20), 25)

    def test_no_member(self):
        self.assertIsNone(next_member([], 10))


class LeadGradeTestCase(unittest.TestCase):
    "The grade of a lead score"

    def test_thresholds(self):
        self.assertEqual(
            [lead_grade(s, 30, 60) for s in [-5, 29, 30, 59, 60, 100]],
            ['cold', 'cold', 'warm', 'warm', 'hot', 'hot'])
        self.assertIsNone(lead_grade(None, 30, 60))


class MatchPartiesTestCase(unittest.TestCase):
    "The party each lead of a batch joins"

    def test_known_phone_before_email(self):
        self.assertEqual(match_parties(
                [{'phone': '+8613800000001', 'email': 'a@example.com'}],
                {'+8613800000001': 7, 'a@example.com': 9}), [7])

    def test_known_email(self):
        self.assertEqual(match_parties(
                [{'phone': '+8613800000001', 'email': 'a@example.com'}],
                {'a@example.com': 9}), [9])

    def test_new_parties_shared_in_the_batch(self):
        "A later lead with the number or e-mail of an earlier new one joins it"
        self.assertEqual(match_parties([
                    {'phone': '+8613800000001'},
                    {'email': 'b@example.com'},
                    {'phone': '+8613800000001', 'email': 'c@example.com'},
                    {'email': 'c@example.com'},
                    {'phone': '+8613800000002', 'email': 'b@example.com'},
                    ], {}), [-1, -2, -1, -1, -2])

    def test_new_key_of_a_known_party(self):
        "The e-mail a lead gives with a known number leads to that party"
        self.assertEqual(match_parties([
                    {'phone': '+8613800000001', 'email': 'new@example.com'},
                    {'email': 'new@example.com'},
                    ], {'+8613800000001': 4}), [4, 4])


def create_china():
    "China as the default phone country of the CRM"
    pool = Pool()
    Country = pool.get('country.country')
    Configuration = pool.get('crm.configuration')
    china = Country(name="China", code='CN')
    china.save()
    configuration = Configuration(1)
    configuration.phone_country = china
    configuration.save()
    return china


class CrmSalePipelineTestCase(
        TranslationCheckMixin, CompanyTestMixin, ModuleTestCase):
    "Test the crm_sale_pipeline module"
    module = 'crm_sale_pipeline'

    @with_transaction()
    def test_stage_positions(self):
        "Each stage's position and the target days from it to the end"
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        cursor = Transaction().connection.cursor()
        company = create_company()
        with set_company(company):
            stages = Stage.create([
                    {'name': "A", 'sequence': 1, 'target_days': 10},
                    {'name': "B", 'sequence': 2, 'target_days': 20,
                        'active': False},
                    {'name': "C", 'sequence': 3},
                    {'name': "D", 'sequence': 4, 'target_days': 5},
                    ])
        query = stage_positions()
        cursor.execute(*query.select(
                query.stage, query.position, query.remaining_days,
                order_by=[query.position.asc]))
        # An inactive stage counts only for itself
        self.assertEqual(list(cursor), [
                (stages[0].id, 1, 15),
                (stages[1].id, 2, 25),
                (stages[2].id, 3, 5),
                (stages[3].id, 4, 5),
                ])

    @with_transaction()
    def test_date_arithmetic(self):
        "Days between dates and days after a date, in SQL"
        cursor = Transaction().connection.cursor()
        start = Literal(dt.date(2024, 2, 20))
        cursor.execute(*Select([
                    days_between(start, Literal(dt.date(2024, 3, 1))),
                    add_days(start, Literal(10)),
                    ]))
        days, date = cursor.fetchone()
        self.assertEqual(days, 10)
        self.assertEqual(str(date), '2024-03-01')

    @with_transaction()
    def test_lead_scores(self):
        "The score of leads from the scoring rules, in SQL"
        pool = Pool()
        Activity = pool.get('crm.activity')
        Country = pool.get('country.country')
        Customer = pool.get('crm.customer')
        Industry = pool.get('crm.industry')
        Opportunity = pool.get('sale.opportunity')
        Party = pool.get('party.party')
        Rule = pool.get('crm.sale.lead.scoring_rule')
        Source = pool.get('crm.source')
        Subdivision = pool.get('country.subdivision')
        now = dt.datetime.now().replace(microsecond=0)
        company = create_company()
        other_company = create_company("Other")
        china, = Country.create([{'name': "China", 'code': 'CN'}])
        shanghai, jiangsu = Subdivision.create([
                {'name': "上海", 'code': 'CN-SH', 'type': 'municipality',
                    'country': china.id},
                {'name': "江苏", 'code': 'CN-JS', 'type': 'province',
                    'country': china.id},
                ])
        web, fair = Source.create([{'name': "Web"}, {'name': "Fair"}])
        machinery, = Industry.create([{'name': "Machinery"}])
        with set_company(company):
            # The first address with a subdivision gives the region
            big, small, unknown = Party.create([{
                        'name': "Big",
                        'addresses': [('create', [
                                    {'sequence': 1, 'country': china.id},
                                    {'sequence': 2, 'country': china.id,
                                        'subdivision': shanghai.id},
                                    {'sequence': 3, 'country': china.id,
                                        'subdivision': jiangsu.id},
                                    ])],
                        }, {
                        'name': "Small",
                        'addresses': [('create', [
                                    {'country': china.id,
                                        'subdivision': jiangsu.id},
                                    ])],
                        }, {
                        'name': "Unknown",
                        }])
            big_customer, small_customer = Customer.create([{
                        'party': big.id, 'industry': machinery.id,
                        'size': 'large',
                        }, {
                        'party': small.id, 'size': 'micro',
                        }])
            Activity.create([{
                        'customer': big_customer.id, 'subject': "Visit",
                        'start': now - dt.timedelta(days=d), 'state': s,
                        } for d, s in [
                        (1, 'done'), (5, 'done'), (20, 'done'),
                        (2, 'cancelled'), (-3, 'done')]])
            Rule.create([
                    {'name': "Web", 'source': web.id, 'points': 10},
                    {'name': "Machinery", 'industry': machinery.id,
                        'points': 20},
                    {'name': "Large", 'size': 'large', 'points': 15},
                    {'name': "Micro", 'size': 'micro', 'points': -5},
                    {'name': "Shanghai", 'region': shanghai.id, 'points': 7},
                    {'name': "Shanghai web", 'region': shanghai.id,
                        'source': web.id, 'points': 3},
                    {'name': "Busy week", 'activity_count': 2,
                        'activity_days': 7, 'points': 30},
                    {'name': "Busy fortnight", 'activity_count': 3,
                        'activity_days': 14, 'points': 100},
                    {'name': "Inactive", 'points': 1000, 'active': False},
                    ])
            big_lead, small_lead, unknown_lead, no_party = (
                Opportunity.create([
                        {'party': big.id, 'source': web.id},
                        {'party': small.id, 'source': fair.id},
                        {'party': unknown.id, 'source': web.id},
                        {},
                        ]))
        with set_company(other_company):
            Rule.create([{'name': "Everything", 'points': 500}])
        leads = [big_lead, small_lead, unknown_lead, no_party]
        expected = [10 + 20 + 15 + 7 + 3 + 30, -5, 10, 0]
        scores = lead_scores([o.id for o in leads], now=now)
        self.assertEqual([scores[o.id] for o in leads], expected)
        # Each lead was scored when created; the other company's rule
        # counts for none
        self.assertEqual(
            [o.lead_score for o in Opportunity.browse(leads)], expected)

    @with_transaction()
    def test_capture_leads(self):
        "Leads join the party with their number or e-mail, or a prospect"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Customer = pool.get('crm.customer')
        Source = pool.get('crm.source')
        company = create_company()
        create_china()
        source = Source(name="Trade Fair")
        source.save()
        with set_company(company):
            first, second, third, fourth = Opportunity.capture_leads(
                company, [{
                        'name': "王经理", 'organisation': "苏州精密模具有限公司",
                        'phone': '138 0013 8000', 'source': source,
                        'comment': "<b>要报价</b>",
                        }, {
                        'name': "王经理", 'phone': '+86 138-0013-8000',
                        'email': 'Wang@Example.COM',
                        }, {
                        'email': 'wang@example.com',
                        }, {
                        'phone': '021 6234 5678',
                        }])
        self.assertEqual(first.party, second.party)
        self.assertEqual(first.party, third.party)
        self.assertEqual(first.party.name, "苏州精密模具有限公司")
        mechanism, = first.party.contact_mechanisms
        self.assertEqual(
            (mechanism.type, mechanism.value_compact, mechanism.name),
            ('mobile', '+8613800138000', "王经理"))
        self.assertEqual(first.comment, "<b>要报价</b>")
        self.assertEqual(first.lead_phone, '138 0013 8000')
        self.assertEqual(first.intake, 'api')
        self.assertIsNone(first.duplicate_of)
        self.assertEqual(second.duplicate_of, first)
        self.assertEqual(third.duplicate_of, first)
        self.assertIsNone(fourth.duplicate_of)
        self.assertEqual(fourth.party.contact_mechanisms[0].type, 'phone')
        customers = Customer.search([], order=[('id', 'ASC')])
        self.assertEqual(
            [(c.party, c.customer_type, c.source) for c in customers],
            [(first.party, 'enterprise', source),
                (fourth.party, 'individual', None)])

        with set_company(company):
            again, = Opportunity.capture_leads(
                company, [{'phone': '13800138000'}])
        self.assertEqual(again.duplicate_of, first)
        Opportunity.cancel([first])
        with set_company(company):
            later, = Opportunity.capture_leads(
                company, [{'phone': '13800138000'}])
        # The first open one not itself a duplicate
        self.assertIsNone(later.duplicate_of)

    @with_transaction()
    def test_capture_leads_bad_input(self):
        "A bad lead stops the batch before anything is written"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Party = pool.get('party.party')
        company = create_company()
        parties = Party.search([], count=True)
        for lead, message in [
                ({'name': "李"}, "phone number or an e-mail"),
                ({'phone': '12345'}, '"12345" is not a valid phone'),
                ({'email': 'li@'}, 'not a valid e-mail'),
                ({'phone': '+8613800138000', 'name': "李" * 101},
                    '"name" has more than 100'),
                ]:
            with self.subTest(lead=lead), set_company(company):
                with self.assertRaisesRegex(LeadError, message):
                    Opportunity.capture_leads(
                        company, [{'phone': '+8613900000000'}, lead])
        self.assertEqual(Party.search([], count=True), parties)
        self.assertEqual(Opportunity.search([], count=True), 0)

    @with_transaction()
    def test_lead_from_text(self):
        "Names of an industry, a region and a size read from text"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Industry = pool.get('crm.industry')
        Subdivision = pool.get('country.subdivision')
        china = create_china()
        industry = Industry(name="机械")
        industry.save()
        shanghai = Subdivision(
            name="上海市", code='CN-SH', type='municipality', country=china)
        shanghai.save()
        lead = Opportunity.lead_from_text({
                'name': " 张三 ", 'industry': "机械", 'region': 'CN-SH',
                'size': 'small', 'email': ''})
        self.assertEqual(lead, {
                'name': "张三", 'industry': industry, 'region': shanghai,
                'size': 'small'})
        for values, message in [
                ({'fax': '1'}, 'field "fax" is unknown'),
                ({'industry': "化工"}, 'no industry "化工"'),
                ({'region': "火星"}, '"火星" is not the name or code'),
                ({'size': 'huge'}, '"huge" is not one of'),
                ]:
            with self.subTest(values=values):
                with self.assertRaisesRegex(LeadError, message):
                    Opportunity.lead_from_text(values)

    @with_transaction()
    def test_capture_leads_duplicates(self):
        """A captured lead repeats the open deals of the parties with the
        number or e-mail it gave, and no other; a deal typed in for a party
        picked from the list is repeat business"""
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Party = pool.get('party.party')
        company = create_company()
        create_china()
        with Transaction().set_context(_skip_warnings=True):
            zhao, qian, purchasing = Party.create([{
                        'name': "赵六",
                        'contact_mechanisms': [('create', [
                                    {'type': 'mobile', 'value': '13800138000'},
                                    {'type': 'email',
                                        'value': 'zhao@example.com'},
                                    ])],
                        }, {
                        'name': "钱七",
                        'contact_mechanisms': [('create', [
                                    {'type': 'email',
                                        'value': 'Qian@Example.com'},
                                    ])],
                        }, {
                        'name': "赵六（采购部）",
                        'contact_mechanisms': [('create', [
                                    {'type': 'email',
                                        'value': 'zhao@example.com'},
                                    ])],
                        }])
        with set_company(company):
            deal, repeat, shared = Opportunity.create([
                    {'party': qian.id}, {'party': qian.id},
                    {'party': purchasing.id}])
            # 赵六 shares an e-mail with the purchasing department, which
            # has an open deal, but the lead gave only his number
            by_phone, = Opportunity.capture_leads(
                company, [{'phone': '13800138000'}])
            by_email, by_both = Opportunity.capture_leads(company, [
                    {'email': 'ZHAO@example.com'},
                    {'phone': '138 0013 8000', 'email': 'qian@example.com'},
                    ])
        self.assertEqual(
            [o.duplicate_of for o in [deal, repeat, shared, by_phone]],
            [None] * 4)
        self.assertEqual((by_phone.party, by_both.party), (zhao, zhao))
        # The oldest open deal of the parties with the e-mail
        self.assertEqual(by_email.duplicate_of, shared)
        self.assertEqual(by_both.duplicate_of, deal)

    @with_transaction()
    def test_capture_leads_assigned(self):
        """A captured lead is nobody's, whoever takes it in: the assignment
        rules give it"""
        pool = Pool()
        Employee = pool.get('company.employee')
        Opportunity = pool.get('sale.opportunity')
        Party = pool.get('party.party')
        Rule = pool.get('crm.sale.lead.assignment_rule')
        company = create_company()
        create_china()
        parties = Party.create([{'name': "录入员"}, {'name': "销售"}])
        clerk, seller = Employee.create([
                {'party': p.id, 'company': company.id} for p in parties])
        with set_company(company), \
                Transaction().set_context(employee=clerk.id):
            rule, = Rule.create([{
                        'name': "全部", 'method': 'employee',
                        'employee': seller.id}])
            captured, = Opportunity.capture_leads(
                company, [{'phone': '13800138000'}])
            typed, = Opportunity.create([{}])
        self.assertEqual(
            (captured.employee, captured.assignment_rule), (seller, rule))
        self.assertEqual(
            (typed.employee, typed.assignment_rule), (clerk, None))


class LeadRouteTestCase(RouteTestCase):
    "The public address of the lead web forms"
    module = 'crm_sale_pipeline'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Form = pool.get('crm.sale.lead.form')
        Source = pool.get('crm.source')
        company = create_company()
        source = Source(name="Web Site")
        source.save()
        cls.form, cls.limited, cls.closed = Form.create([{
                    'company': company.id, 'name': "Contact us",
                    'source': source.id, 'ip_limit': 50,
                    'hourly_limit': 100,
                    'allowed_origins': 'https://www.example.com\n',
                    }, {
                    'company': company.id, 'name': "Newsletter",
                    'source': source.id, 'ip_limit': 2,
                    'hourly_limit': 3,
                    }, {
                    'company': company.id, 'name': "Old",
                    'source': source.id, 'active': False,
                    }])
        cls.tokens = {f.name: f.token for f in [
                cls.form, cls.limited, cls.closed]}

    def setUp(self):
        super().setUp()
        cors = config.get('web', 'cors', default='')
        config.set('web', 'cors', 'https://www.example.com\nhttps://evil.test')
        self.addCleanup(config.set, 'web', 'cors', cors)

    def url(self, form="Contact us"):
        return f'/{DB_NAME}/crm_sale_pipeline/lead/{self.tokens[form]}'

    def post(self, form="Contact us", address='192.0.2.1', **kwargs):
        return self.client().post(self.url(form),
            environ_base={'REMOTE_ADDR': address}, **kwargs)

    def lead(self, number):
        with Transaction().start(DB_NAME, 0):
            Opportunity = Pool().get('sale.opportunity')
            lead, = Opportunity.search([('number', '=', number)])
            return {
                'party': lead.party.name, 'intake': lead.intake,
                'source': lead.source.name, 'comment': lead.comment,
                'description': lead.description,
                'duplicate': bool(lead.duplicate_of)}

    def test_form_encoded(self):
        "A form posts a lead: the reply names its number only"
        response = self.post(data={
                'name': "陈先生", 'phone': '+86 139 0000 1111',
                'message': "<script>alert(1)</script>\n需要样品",
                'website': ''})
        self.assertEqual(response.status_code, 201, msg=response.data)
        reply = response.json
        self.assertEqual(set(reply), {'status', 'reference'})
        self.assertEqual(self.lead(reply['reference']), {
                'party': "陈先生", 'intake': 'web', 'source': "Web Site",
                'comment': "<script>alert(1)</script>\n需要样品",
                'description': 'Web form "Contact us"',
                'duplicate': False})

        again = self.post(data={'phone': '+8613900001111'})
        self.assertEqual(again.status_code, 201)
        self.assertTrue(self.lead(again.json['reference'])['duplicate'])

    def test_json(self):
        response = self.post(json={
                'organisation': "深圳蓝海电子", 'email': 'buy@lanhai.example'},
            headers={'Origin': 'https://www.example.com'})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            response.headers['Access-Control-Allow-Origin'],
            'https://www.example.com')
        self.assertEqual(
            self.lead(response.json['reference'])['party'], "深圳蓝海电子")

    def test_bad_input(self):
        "Bad input is refused with the reason and creates nothing"
        with Transaction().start(DB_NAME, 0):
            Opportunity = Pool().get('sale.opportunity')
            count = Opportunity.search([], count=True)
        for kwargs, message in [
                ({'data': {'name': "x"}}, "phone number or an e-mail"),
                ({'data': {'phone': 'abc'}}, '"abc" is not a valid phone'),
                ({'data': {'phone': '+8613900001111', 'fax': '1'}},
                    'field "fax" is unknown'),
                ({'data': {'phone': '+8613900001111',
                            'message': 'x' * 4001}},
                    'field "message" has more than 4000'),
                ({'json': {'phone': 13900001111}}, "values are text"),
                ({'json': ['+8613900001111']}, "values are text"),
                ({'data': 'not json',
                        'content_type': 'application/json'},
                    "values are text"),
                ]:
            with self.subTest(kwargs=kwargs):
                response = self.post(**kwargs)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.json['error'])
        with Transaction().start(DB_NAME, 0):
            self.assertEqual(Opportunity.search([], count=True), count)

    def test_too_large(self):
        response = self.post(data={'message': 'x' * 50000})
        self.assertEqual(response.status_code, 413)

    def test_refused(self):
        "Unknown and inactive forms, and other web sites, are forbidden"
        for form, headers in [
                (None, {}),
                ("Old", {}),
                ("Contact us", {'Origin': 'https://evil.test'}),
                ]:
            with self.subTest(form=form, headers=headers):
                url = (self.url(form) if form
                    else f'/{DB_NAME}/crm_sale_pipeline/lead/unknown')
                response = self.client().post(url, headers=headers,
                    data={'phone': '+8613900002222'})
                self.assertEqual(response.status_code, 403)
                self.assertIn('error', response.json)

    def test_honeypot(self):
        "A robot that fills the hidden field gets a reply and no lead"
        response = self.post(data={
                'phone': '+8613900003333', 'website': 'http://spam.test'})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json, {'status': 'received'})
        with Transaction().start(DB_NAME, 0):
            Submission = Pool().get('crm.sale.lead.submission')
            submission, = Submission.search([('result', '=', 'spam')])
            self.assertIsNone(submission.opportunity)

    def test_rate_limit(self):
        "Each address, then the form, runs out of posts for the hour"
        statuses = [
            self.post("Newsletter", address, data={'phone': phone}).status_code
            for address, phone in [
                ('198.51.100.1', '+8613900004444'),
                ('198.51.100.1', 'bad'),
                ('198.51.100.1', '+8613900004445'),
                ('198.51.100.2', '+8613900004446'),
                ('198.51.100.3', '+8613900004447'),
                ]]
        self.assertEqual(statuses, [201, 400, 429, 201, 429])
        response = self.post("Newsletter", '198.51.100.9',
            data={'phone': '+8613900004448'})
        self.assertEqual(response.headers['Retry-After'], '3600')


del ModuleTestCase, RouteTestCase
