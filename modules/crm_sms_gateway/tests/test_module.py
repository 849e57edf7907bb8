# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime
import time
import unittest

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.modules.crm_sms_gateway import at, pdu
from trytond.modules.crm_sms_gateway.command import parse
from trytond.modules.crm_sms_gateway.exceptions import SMSValidationError
from trytond.modules.crm_sms_gateway.worker import (
    ModemRunner, digest, expire_parts, retry_delay)
from trytond.modules.party.tests import PartyCheckReplaceMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

KEYWORDS = ['HELP', 'CX', '查询', 'TD', 'T', '退订']


class ParseTestCase(unittest.TestCase):
    "The CODE content protocol"

    def test_keywords(self):
        for text, expected in [
                ('CX', ('CX', '')),
                ('cx 123', ('CX', '123')),
                ('ＣＸ', ('CX', '')),
                ('ｃｘ：上月账单', ('CX', '上月账单')),
                ('cx:上月账单', ('CX', '上月账单')),
                ('CX123', ('CX', '123')),
                ('  td  ', ('TD', '')),
                ('TD', ('TD', '')),  # the longest keyword wins over T
                ('T 你好', ('T', '你好')),
                ('查询余额', ('查询', '余额')),
                ('退订，谢谢', ('退订', '谢谢')),
                ('你好', (None, '你好')),
                ('', (None, '')),
                ]:
            with self.subTest(text=text):
                self.assertEqual(parse(text, KEYWORDS), expected)

    def test_content_kept_verbatim(self):
        "What follows the keyword is data, never code"
        text = "CX '; DROP TABLE crm_sms_message; --"
        self.assertEqual(parse(text, KEYWORDS),
            ('CX', "'; DROP TABLE crm_sms_message; --"))


class RetryTestCase(unittest.TestCase):

    def test_retry_delay_doubles_up_to_limit(self):
        self.assertEqual(
            [retry_delay(60, n).total_seconds() for n in range(1, 6)],
            [60, 120, 240, 480, 960])
        self.assertEqual(retry_delay(60, 20, 3600).total_seconds(), 3600)


class CrmSmsGatewayTestCase(
        TranslationCheckMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test the crm_sms_gateway module"
    module = 'crm_sms_gateway'

    def _modem(self, company):
        Modem = Pool().get('crm.sms.modem')
        modem, = Modem.create([{
                    'name': "Test", 'company': company.id,
                    'port': 'socket://127.0.0.1:1'}])
        return modem

    @with_transaction()
    def test_outbound_number_and_parts(self):
        "An outbound message gets its E.164 number and its part count"
        Message = Pool().get('crm.sms.message')
        company = create_company()
        with set_company(company):
            message = Message.send('+86 138-1234-5678', "您好" * 50)
            self.assertEqual(message.number, '+8613812345678')
            self.assertEqual(message.state, 'queued')
            self.assertEqual(message.parts, 2)
            for number, body in [('hello', "text"), ('+8613812345678', ' ')]:
                with self.assertRaises(SMSValidationError):
                    Message.send(number, body)
            with self.assertRaises(SMSValidationError):
                Message.send('+8613812345678', "长" * 1000)

    @with_transaction()
    def test_port_must_be_a_device_or_url(self):
        Modem = Pool().get('crm.sms.modem')
        company = create_company()
        for port in ['/dev/ttyUSB0', 'socket://10.0.0.5:7000',
                'rfc2217://10.0.0.5:7001', 'loop://']:
            Modem.create([{'name': port, 'company': company.id,
                        'port': port}])
        for port in ['http://example.com', 'ttyUSB0']:
            with self.assertRaises(SMSValidationError):
                Modem.create([{'name': port, 'company': company.id,
                            'port': port}])

    @with_transaction()
    def test_received_once_across_crashes(self):
        "A PDU still on the SIM after its commit is not saved again"
        pool = Pool()
        Message = pool.get('crm.sms.message')
        ReceivedPDU = pool.get('crm.sms.pdu')
        company = create_company()
        modem = self._modem(company)
        runner = ModemRunner(modem.id, time.monotonic() + 60)
        runner.company = company.id
        value, = pdu.encode_deliver('+8613812345678', "报修 打印机")
        stored = [at.StoredMessage(index=4, status=0, length=0, pdu=value)]

        self.assertEqual(runner._save_received(stored, []), 1)
        # The worker died before AT+CMGD: the next one lists it again
        self.assertEqual(runner._save_received(stored, []), 0)
        message, = Message.search([('direction', '=', 'in')])
        self.assertEqual(message.body, "报修 打印机")
        self.assertEqual(message.number, '+8613812345678')

        # It was deleted but the flag not cleared; a new text took index 4
        other, = pdu.encode_deliver('+8613812345678', "投诉")
        stored = [at.StoredMessage(index=4, status=0, length=0, pdu=other)]
        self.assertEqual(runner._save_received(stored, []), 1)
        first, = ReceivedPDU.search([('digest', '=', digest(value))])
        self.assertFalse(first.on_sim)
        self.assertEqual(Message.search_count([('direction', '=', 'in')]), 2)

    @with_transaction()
    def test_missing_part_delivered_incomplete(self):
        "A long text whose part never comes is delivered after the timeout"
        pool = Pool()
        Message = pool.get('crm.sms.message')
        ReceivedPDU = pool.get('crm.sms.pdu')
        company = create_company()
        modem = self._modem(company)
        runner = ModemRunner(modem.id, time.monotonic() + 60)
        runner.company = company.id
        text = "零一二三四五六七八九" * 15
        parts = pdu.encode_deliver('+8613812345678', text)
        self.assertEqual(len(parts), 3)
        runner._save_received([], [parts[0], parts[2]])
        self.assertEqual(expire_parts(), 0)
        self.assertFalse(Message.search([('direction', '=', 'in')]))

        table = ReceivedPDU.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.create_date],
                [datetime.datetime.now() - datetime.timedelta(hours=2)]))
        self.assertEqual(expire_parts(), 1)
        message, = Message.search([('direction', '=', 'in')])
        self.assertTrue(message.incomplete)
        self.assertEqual(message.parts, 2)
        self.assertEqual(message.body, text[:67] + text[134:])


del ModuleTestCase
