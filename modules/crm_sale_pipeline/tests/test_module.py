# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import unittest
from decimal import Decimal

from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.modules.crm_sale_pipeline.common import lines_fingerprint
from trytond.modules.crm_sale_pipeline.price import line_floor
from trytond.tests.test_tryton import ModuleTestCase


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


class CrmSalePipelineTestCase(
        TranslationCheckMixin, CompanyTestMixin, ModuleTestCase):
    "Test the crm_sale_pipeline module"
    module = 'crm_sale_pipeline'


del ModuleTestCase
