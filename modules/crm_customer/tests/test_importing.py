# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The CSV reader of the customer import, without a database"""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.modules.crm_customer.importing import (
    RowError, decode, format_date, format_decimal, parse_amount,
    parse_boolean, parse_date, parse_decimal, parse_phone,
    parse_tax_identifier, read_rows)

TEXT = "external_id,name,city\r\nC001,张三丰,上海\r\nC002,北京宏达机械有限公司,北京\r\n"


class DecodeTestCase(unittest.TestCase):
    "UTF-8 with or without BOM and GBK are told apart"

    def test_utf8_with_bom(self):
        data = TEXT.encode('utf-8-sig')
        self.assertEqual(data[:3], b'\xef\xbb\xbf')
        self.assertEqual(decode(data), (TEXT, 'utf-8-sig'))

    def test_utf8_without_bom(self):
        self.assertEqual(decode(TEXT.encode('utf-8')), (TEXT, 'utf-8-sig'))

    def test_gbk(self):
        data = TEXT.encode('gbk')
        with self.assertRaises(UnicodeDecodeError):
            data.decode('utf-8')
        self.assertEqual(decode(data), (TEXT, 'gb18030'))
        self.assertEqual(decode(data, 'gbk'), (TEXT, 'gb18030'))

    def test_gb18030_beyond_gbk(self):
        "A rare character GBK lacks still reads"
        text = "external_id,name\r\nC003,𠀀记商行\r\n"
        self.assertEqual(decode(text.encode('gb18030')), (text, 'gb18030'))

    def test_gbk_told_as_utf8(self):
        "A GBK file read as UTF-8 is refused at the line of the first bad byte"
        with self.assertRaises(RowError) as context:
            decode(TEXT.encode('gbk'), 'utf-8')
        self.assertEqual(context.exception.message, 'msg_import_encoding')
        self.assertEqual(context.exception.line, 2)

    def test_neither(self):
        data = "external_id,name\r\n".encode() + b'C001,\x80\xff\r\n'
        with self.assertRaises(RowError) as context:
            decode(data)
        self.assertEqual(context.exception.line, 2)


class ReadRowsTestCase(unittest.TestCase):
    "Each record carries the line where it starts"

    def test_line_numbers(self):
        text = (
            "external_id,name,street\r\n"
            "C001,张三丰,\"人民路1号\r\n2楼\"\r\n"
            "\r\n"
            ",,\r\n"
            "C002,李四,\"中山路 \"\"8\"\" 号\"\r\n")
        self.assertEqual(list(read_rows(text)), [
                (1, ['external_id', 'name', 'street']),
                (2, ['C001', '张三丰', '人民路1号\r\n2楼']),
                (6, ['C002', '李四', '中山路 "8" 号']),
                ])

    def test_unix_line_ends(self):
        self.assertEqual(
            [l for l, _ in read_rows("a,b\nc,d\n\ne,f")], [1, 2, 4])

    def test_unterminated_quote(self):
        rows = read_rows("external_id,name\nC001,ok\nC002,\"open\n")
        self.assertEqual(next(rows)[0], 1)
        self.assertEqual(next(rows)[0], 2)
        with self.assertRaises(RowError) as context:
            next(rows)
        self.assertEqual(context.exception.message, 'msg_import_csv')
        self.assertEqual(context.exception.line, 3)


class ValueTestCase(unittest.TestCase):
    "Amounts and dates are read exactly and written back the same"

    def test_decimal_exact(self):
        for text in ['0', '0.01', '1234.56', '5000.00', '5000.5',
                '99999999999999.99', '12345678901234567890.123456789']:
            with self.subTest(text=text):
                value = parse_decimal(text)
                self.assertIsInstance(value, Decimal)
                self.assertEqual(value, Decimal(text))
                self.assertEqual(format_decimal(value), text)
        # What a float would lose
        self.assertNotEqual(float(parse_decimal('0.1')) * 3, 0.3)
        self.assertEqual(parse_decimal('0.1') * 3, Decimal('0.3'))

    def test_decimal_refused(self):
        for text in ['1,234.56', '1 234', '1e3', '-5', '+5', '.5', '5.',
                '01.5', 'NaN', 'Infinity', '１２３', '¥100']:
            with self.subTest(text=text):
                with self.assertRaises(RowError) as context:
                    parse_decimal(text)
                self.assertEqual(
                    context.exception.message, 'msg_import_decimal')

    def test_amount_digits(self):
        self.assertEqual(parse_amount('12.34', 2), Decimal('12.34'))
        self.assertEqual(format_decimal(parse_amount('12.340', 2)), '12.340')
        with self.assertRaises(RowError) as context:
            parse_amount('12.345', 2)
        self.assertEqual(
            context.exception.variables, {'value': '12.345', 'digits': 2})

    def test_date(self):
        for text in ['2024-02-29', '1949-10-01', '2040-12-31']:
            with self.subTest(text=text):
                self.assertEqual(format_date(parse_date(text)), text)
        self.assertEqual(parse_date('1980-02-16'), dt.date(1980, 2, 16))
        for text in ['2023-02-29', '20240301', '2024-3-1', '2024/03/01',
                '01/03/2024', '2024-03-01T00:00', '2024-W09-5']:
            with self.subTest(text=text):
                with self.assertRaises(RowError):
                    parse_date(text)

    def test_boolean(self):
        for text in ['1', 'true', 'Yes', 'Y', '是']:
            self.assertIs(parse_boolean(text), True)
        for text in ['0', 'false', 'NO', 'n', '否']:
            self.assertIs(parse_boolean(text), False)
        with self.assertRaises(RowError):
            parse_boolean('maybe')

    def test_tax_identifier(self):
        for text in ['91310000MA1FL0XX1C', '9131 0000 MA1F L0XX 1C',
                '91310000-MA1FL0XX-1C', '91310000ma1fl0xx1c']:
            with self.subTest(text=text):
                self.assertEqual(
                    parse_tax_identifier(text), '91310000MA1FL0XX1C')
        with self.assertRaises(RowError):
            parse_tax_identifier('91310000MA1FL0XX1D')

    def test_phone(self):
        self.assertEqual(
            parse_phone('138-1234-5678', 'CN'), '+8613812345678')
        with self.assertRaises(RowError):
            parse_phone('1381234', 'CN')
