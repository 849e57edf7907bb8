# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import unittest

from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.crm_customer.party import name_pinyin, normalize_phone
from trytond.modules.party.tests import PartyCheckReplaceMixin
from trytond.tests.test_tryton import ModuleTestCase


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


class CrmCustomerTestCase(
        PartyCheckReplaceMixin, CompanyTestMixin, ModuleTestCase):
    "Test the crm_customer module"
    module = 'crm_customer'


del ModuleTestCase
