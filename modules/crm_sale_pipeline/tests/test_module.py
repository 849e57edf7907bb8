# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime as dt
import unittest
from decimal import Decimal

from sql import Literal, Select

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.modules.crm_sale_pipeline.collection import (
    misplaced, percent, split_amount)
from trytond.modules.crm_sale_pipeline.common import lines_fingerprint
from trytond.modules.crm_sale_pipeline.lead import (
    lead_grade, lead_scores, next_member)
from trytond.modules.crm_sale_pipeline.price import line_floor
from trytond.modules.crm_sale_pipeline.reporting import (
    add_days, days_between, stage_positions)
from trytond.modules.crm_sale_pipeline.support import support_priority
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
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


del ModuleTestCase
