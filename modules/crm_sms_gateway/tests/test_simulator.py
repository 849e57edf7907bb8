# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The simulated modem driven by the AT session over real socket:// URLs"""
import datetime
import subprocess
import sys
import time
import unittest

from trytond.modules.crm_sms_gateway import at, pdu, simulator

CHINA = datetime.timezone(datetime.timedelta(hours=8))
CUSTOMER = '+8613812345678'


class SimulatorTestCase(unittest.TestCase):

    # Answers take milliseconds: tests that wait for silence wait less
    timeout = 1

    def start(self, initialize=True, **options):
        "A running simulated modem and a session on it"
        self.server = simulator.Server(simulator.Modem(**options)).start()
        self.addCleanup(self.server.stop)
        self.modem = self.server.modem
        self.seen = []
        return self.open(initialize)

    def open(self, initialize=True):
        session = at.Session.open(self.server.url, timeout=self.timeout,
            send_timeout=self.timeout)
        self.addCleanup(session.close)
        if initialize:
            session.initialize(pin=self.modem.pin)
        return session

    def send(self, session, text, **options):
        return [session.send(p.hex, p.length)
            for p in pdu.encode_submit(CUSTOMER, text, **options)]

    def wait_for(self, session, name, count=1):
        "The unsolicited lines named name, once count have come"
        deadline = time.monotonic() + 5
        while True:
            found = [u for u in self.seen if u.name == name]
            if len(found) >= count or time.monotonic() > deadline:
                break
            self.seen.extend(session.poll(0.1))
        for line in found:
            self.seen.remove(line)
        self.assertEqual(len(found), count, msg=name)
        return found

    def take_all(self, session):
        "Decode and delete what the SIM holds, as the worker will"
        messages = []
        for stored in session.list_messages():
            messages.append(pdu.decode(stored.pdu))
            session.delete_message(stored.index)
        return messages


class SendTestCase(SimulatorTestCase):

    def test_send_records_every_pdu(self):
        session = self.start()
        text = '您好，您的订单已发货，预计明天送达。如有疑问请回复CX查询。' * 3
        references = self.send(session, text, reference=7)
        self.assertEqual(references, [0, 1])
        sent = self.modem.sent
        self.assertEqual([(s.recipient, s.reference, s.sequence, s.total)
                for s in sent], [(CUSTOMER, 7, 1, 2), (CUSTOMER, 7, 2, 2)])
        self.assertEqual(''.join(s.text for s in sent), text)
        self.assertEqual([s.message_reference for s in sent], references)

    def test_status_reports_stored(self):
        "Reports come back on the SIM (+CDSI) with the message reference"
        session = self.start()
        self.modem.report_status['+8613900000000'] = 0x46
        first, = self.send(session, 'Hello', status_report=True)
        second, = [session.send(p.hex, p.length) for p in pdu.encode_submit(
                '+8613900000000', 'Hi', status_report=True)]
        self.wait_for(session, '+CDSI', 2)
        reports = {r.message_reference: r for r in self.take_all(session)}
        self.assertEqual(reports[first].state, pdu.DELIVERED)
        self.assertEqual(
            (reports[second].state, reports[second].recipient),
            (pdu.FAILED, '+8613900000000'))
        self.assertEqual(session.storage_status(), (0, 30))

    def test_status_reports_direct(self):
        "Reports as +CDS lines with their PDU for modems set so"
        session = self.start()
        session.command('AT+CNMI=2,1,0,1,0')
        reference, = self.send(session, 'Hello', status_report=True)
        report, = self.wait_for(session, '+CDS')
        self.assertEqual(pdu.decode(report.pdu).message_reference,
            reference)
        self.assertEqual(session.storage_status(), (0, 30))

    def test_send_delay(self):
        session = self.start(send_delay=0.3)
        start = time.monotonic()
        self.send(session, 'a' * 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.6)

    def test_prompt_without_space(self):
        session = self.start(prompt='>')
        self.assertEqual(self.send(session, 'Bare prompt'), [0])

    def test_bad_length_refused(self):
        session = self.start()
        part, = pdu.encode_submit(CUSTOMER, 'x')
        with self.assertRaises(at.CommandError) as context:
            session.send(part.hex, part.length + 1)
        self.assertEqual(context.exception.code, 304)
        self.assertEqual(self.modem.sent, [])


class ReceiveTestCase(SimulatorTestCase):

    def test_multipart_in_any_order(self):
        session = self.start()
        text = '师傅您好，我家空调不制冷了，型号KFR-35GW，地址是上海市浦东新区张江路100号，' \
            '麻烦明天上午上门看看，谢谢！😀' * 3
        pdus = self.modem.inject(CUSTOMER, text, order=[3, 1, 2])
        self.assertEqual(len(pdus), 3)
        self.wait_for(session, '+CMTI', 3)
        parts = self.take_all(session)
        self.assertEqual([p.concat.sequence for p in parts], [3, 1, 2])
        self.assertEqual(pdu.assemble(parts).text, text)
        self.assertEqual(session.storage_status(), (0, 30))

    def test_missing_part(self):
        session = self.start()
        parts_sent = self.modem.inject(CUSTOMER, 'x' * 400, omit={2})
        self.wait_for(session, '+CMTI', 2)
        assembly = pdu.assemble(self.take_all(session))
        self.assertEqual((len(parts_sent), assembly.missing), (3, (2,)))

    def test_full_sim(self):
        "The network keeps what the SIM has no room for"
        session = self.start(capacity=3)
        for number in range(5):
            self.modem.inject(CUSTOMER, f'Message {number}')
        self.wait_for(session, '+CMTI', 3)
        self.wait_for(session, '^SMMEMFULL')
        self.assertEqual(session.storage_status(), (3, 3))
        with self.assertRaises(at.CommandError) as context:
            session.command('AT+CMGW=20')
        self.assertEqual((context.exception.code, context.exception.category),
            (322, at.MODEM))
        texts = [m.text for m in self.take_all(session)]
        self.wait_for(session, '+CMTI', 2)
        texts += [m.text for m in self.take_all(session)]
        self.assertEqual(texts, [f'Message {n}' for n in range(5)])

    def test_read_and_delete_one(self):
        session = self.start()
        self.modem.inject('10086', '您的余额为 12.50 元。')
        indication, = self.wait_for(session, '+CMTI')
        index = int(indication.values[1])
        stored = session.read_message(index)
        self.assertEqual(pdu.decode(stored.pdu).sender, '10086')
        session.delete_message(index)
        self.assertIsNone(session.read_message(index))
        self.assertEqual(self.modem.bulk_deletes, 0)


class FaultTestCase(SimulatorTestCase):
    timeout = 0.5

    def test_failing_sends(self):
        session = self.start()
        self.modem.fail_sends(2, 42)
        for _ in range(2):
            with self.assertRaises(at.CommandError) as context:
                self.send(session, 'Retry me')
            self.assertEqual(context.exception.category, at.TEMPORARY)
        self.assertEqual(self.send(session, 'Retry me'), [0])
        self.assertEqual(len(self.modem.sent), 1)

    def test_stall_after_the_pdu(self):
        "The modem takes the PDU and stops answering: unconfirmed, sent once"
        session = self.start()
        self.modem.stall_next_send()
        with self.assertRaises(at.SendUnconfirmed):
            self.send(session, 'Did it go?')
        self.assertEqual(len(self.modem.sent), 1)
        with self.assertRaises(at.ModemTimeout):
            session.signal_quality()
        self.modem.set_silent(False)
        self.assertEqual(session.signal_quality().rssi, 20)

    def test_reset_turns_echo_on(self):
        session = self.start(pin='4321')
        self.modem.reset()
        self.assertEqual(session.signal_quality().rssi, 20)
        self.assertTrue(session.reset_detected)
        self.assertEqual(session.pin_state(), 'SIM PIN')
        with self.assertRaises(at.CommandError) as context:
            session.storage_status()
        self.assertEqual(context.exception.category, at.PIN)
        session.initialize(pin='4321')
        self.assertFalse(session.reset_detected)
        self.assertEqual(self.send(session, 'After the reset'), [0])
        self.assertEqual(self.modem.pin_attempts, ['4321', '4321'])

    def test_wrong_pin_tried_once(self):
        session = self.start(initialize=False, pin='4321')
        with self.assertRaises(at.PinError):
            session.initialize(pin='1111')
        with self.assertRaises(at.PinError):
            session.initialize()
        self.assertEqual(self.modem.pin_attempts, ['1111'])
        self.assertEqual(session.pin_state(), 'SIM PIN')

    def test_unsolicited_inside_an_answer(self):
        session = self.start()
        self.modem.inject(CUSTOMER, 'One')
        self.wait_for(session, '+CMTI')
        self.modem.interleave(['^RSSI:3', '+CMTI: "SM",9', 'RING'])
        stored, = session.list_messages()
        self.assertEqual(pdu.decode(stored.pdu).text, 'One')
        self.assertEqual([u.line for u in session.pop_unsolicited()],
            ['^RSSI:3', '+CMTI: "SM",9', 'RING'])

    def test_silent(self):
        session = self.start()
        self.modem.set_silent()
        start = time.monotonic()
        with self.assertRaises(at.ModemTimeout):
            session.signal_quality()
        self.assertLess(time.monotonic() - start, 3)

    def test_port_disappears(self):
        session = self.start()
        self.modem.close_connections(refuse_for=0.3)
        with self.assertRaises(at.PortClosed):
            session.signal_quality()
        with self.assertRaises(at.PortClosed):
            self.open()
        time.sleep(0.3)
        self.assertEqual(self.open().signal_quality().rssi, 20)


class ProcessTestCase(unittest.TestCase):
    "The simulator as its own process, driven through its control port"

    def test_process(self):
        process = subprocess.Popen(
            [sys.executable, '-m', 'trytond.modules.crm_sms_gateway.simulator',
                '--port', '0', '--capacity', '5'],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)
        url = process.stdout.readline().strip()
        address = process.stdout.readline().split(': ', 1)[1].strip()
        self.assertTrue(url.startswith('socket://127.0.0.1:'))
        control = simulator.Control(address)
        self.addCleanup(control.close)
        session = at.Session.open(url, timeout=2)
        self.addCleanup(session.close)
        self.assertEqual(session.initialize(), (0, 5))
        moment = datetime.datetime(2026, 2, 14, 9, 30, tzinfo=CHINA)
        control.call('inject', sender=CUSTOMER, text='TD 退订',
            timestamp=moment.isoformat())
        stored, = session.list_messages()
        message = pdu.decode(stored.pdu)
        self.assertEqual((message.sender, message.text, message.timestamp),
            (CUSTOMER, 'TD 退订', moment))
        part, = pdu.encode_submit(CUSTOMER, '您已退订')
        control.call('fail_sends', count=1, code=331)
        with self.assertRaises(at.CommandError):
            session.send(part.hex, part.length)
        session.send(part.hex, part.length)
        snapshot = control.call('snapshot')
        self.assertEqual([s['text'] for s in snapshot['sent']], ['您已退订'])
        self.assertEqual(snapshot['send_attempts'], 2)
        with self.assertRaises(RuntimeError):
            control.call('configure', colour='blue')
