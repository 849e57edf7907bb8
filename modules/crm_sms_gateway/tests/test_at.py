# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The AT session on scripted ports replaying what real modems say

The transcripts follow published logs: a Huawei E1752 under gammu-smsd
(github.com/gammu/gammu issues 126 and 138: echo on, ^RSSI between
commands), Quectel's SMS application note (AT+CMGS=24, '> ', +CMGS: 29,
+CMTI) and Telit's AT reference (+CMGL: 26,2,,17).
"""
import collections
import random
import unittest

import serial

from trytond.modules.crm_sms_gateway import at, pdu

# The PDU of Quectel's note: '0123456789' to +8615055135325
QUECTEL_PDU = ('0891683108501505F011000D91685150155323F500000A0AB0986C46ABD9'
    '6EB81C')
# Telit UC864 AT reference, +CMGL example: a stored, unsent message
TELIT_PDU = '08812801009901025911640A8110567892820014A704C7D1B1DB'
# A received message: '你好' (csdndocs.com/article/9085087)
CHINESE_PDU = ('0891683108200505F0040D91683105155694F5000850208151754500044F'
    '60597D')


class Clock:
    "Time that passes only when the port waits"

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedPort:
    """A port that answers each write with the next reply of a script

    The script is a list of (what the session must write, what the modem
    then says). Replies come in dribbles of a few bytes, as from a serial
    line.
    """
    timeout = None

    def __init__(self, script):
        self.script = collections.deque(script)
        self.input = bytearray()
        self.writes = []
        self.broken = False
        self.break_on_ctrl_z = False
        self.random = random.Random(7)

    def say(self, data):
        "The modem says data on its own"
        self.input.extend(data)

    def read(self, size=1):
        if self.broken:
            raise serial.SerialException('device reports readiness to read '
                'but returned no data (device disconnected?)')
        size = min(size, self.random.randint(1, 6))
        data = bytes(self.input[:size])
        del self.input[:size]
        return data

    def write(self, data):
        self.writes.append(bytes(data))
        if self.break_on_ctrl_z and data.endswith(at.CTRL_Z):
            self.broken = True
        if self.script:
            expected, reply = self.script.popleft()
            assert bytes(data) == expected, (data, expected)
            self.input.extend(reply)
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass


def session(script, **kwargs):
    clock = Clock()
    port = ScriptedPort(script)
    kwargs.setdefault('timeout', 5)
    kwargs.setdefault('send_timeout', 30)
    return at.Session(port, clock=clock, sleep=clock.sleep, **kwargs), port


# Answers as a modem frames them
def answer(*lines, final=b'OK'):
    return b''.join(b'\r\n' + line + b'\r\n' for line in lines) \
        + b'\r\n' + final + b'\r\n'


def echo(command):
    return command + b'\r'


INIT_ECHO_OFF = [
    (b'AT\r', answer()),
    (b'ATE0\r', answer()),
    (b'AT+CMEE=1\r', answer()),
    (b'AT+CPIN?\r', answer(b'+CPIN: READY')),
    (b'AT+CMGF=0\r', answer()),
    (b'AT+CPMS="SM","SM","SM"\r', answer(b'+CPMS: 2,50,2,50,2,50')),
    (b'AT+CNMI=2,1,0,2,0\r', answer()),
    ]


def initialized(script, **kwargs):
    "A session past initialize(), then the script"
    result = session([(at.ESCAPE, b'')] + INIT_ECHO_OFF + script, **kwargs)
    result[0].initialize()
    result[1].writes.clear()
    return result


class ErrorTableTestCase(unittest.TestCase):
    "+CMS ERROR and +CME ERROR codes read as FACTS.md classes them"

    def test_classes(self):
        for kind, codes, category in [
                ('CMS', [331, 332, 500, 512, 515, 41, 42, 47], at.TEMPORARY),
                ('CMS', [1, 8, 10, 21, 28, 29, 30, 50, 95, 96, 97, 98, 99,
                        304], at.MESSAGE),
                ('CMS', [310, 313, 314, 315, 322, 330], at.MODEM),
                ('CMS', [311, 312, 316, 317, 318], at.PIN),
                ('CME', [11, 12, 16], at.PIN),
                ('CME', [10, 13], at.MODEM),
                ('CMS', [999, 516], at.TEMPORARY),
                ('CME', [77], at.TEMPORARY),
                ]:
            for code in codes:
                with self.subTest(kind=kind, code=code):
                    reason, found = at.error_reason(kind, code)
                    self.assertEqual(found, category)
                    self.assertTrue(reason)

    def test_readable(self):
        error = at.CommandError('AT+CMGS=24', 'CMS', 330)
        self.assertEqual(error.category, at.MODEM)
        self.assertIn("service centre number", str(error))
        self.assertEqual(at.CommandError('AT+CMGS=24', 'CMS', 322).reason,
            "Memory full: the SIM has no room for incoming messages")


class ReaderTestCase(unittest.TestCase):
    "Answers, unsolicited lines and echo told apart"

    def test_initialize_with_echo_and_rssi(self):
        "A Huawei E1752 with echo on, ^RSSI lines between the answers"
        modem, port = session([
                (at.ESCAPE, b'\r\n^RSSI:14\r\n'),
                (b'AT\r', echo(b'AT') + answer()),
                (b'ATE0\r', echo(b'ATE0') + answer()),
                (b'AT+CMEE=1\r', answer()),
                (b'AT+CPIN?\r', answer(b'+CPIN: READY')),
                (b'AT+CMGF=0\r', b'\r\n^BOOT:21577230,0,0,0,75\r\n'
                    + answer()),
                (b'AT+CPMS="SM","SM","SM"\r',
                    answer(b'^RSSI:10', b'+CPMS: 0,50,0,50,0,50')),
                (b'AT+CNMI=2,1,0,2,0\r', answer(final=b'+CMS ERROR: 303')),
                (b'AT+CNMI=2,1,0,1,0\r', answer()),
                (b'AT+CSCA="+8613800100500",145\r', answer()),
                ])
        self.assertEqual(modem.initialize(smsc='+8613800100500'), (0, 50))
        self.assertFalse(port.script)
        self.assertEqual([u.line for u in modem.pop_unsolicited()],
            ['^RSSI:14', '^BOOT:21577230,0,0,0,75', '^RSSI:10'])
        self.assertFalse(modem.reset_detected)

    def test_queries(self):
        modem, port = initialized([
                (b'AT+CSQ\r', answer(b'+CSQ: 9,99')),
                (b'AT+CREG?\r', answer(b'+CREG: 1', b'+CREG: 0,5')),
                (b'AT+COPS?\r', answer(b'+COPS: 0,0,"CHINA MOBILE",7')),
                (b'AT+COPS?\r', answer(b'+COPS: 0')),
                (b'AT+CPMS?\r',
                    answer(b'+CPMS: "SM",3,50,"SM",3,50,"SM",3,50')),
                ])
        signal = modem.signal_quality()
        self.assertEqual((signal.rssi, signal.ber, signal.dbm), (9, 99, -95))
        self.assertEqual(modem.registration(), 5)
        self.assertEqual(at.REGISTRATION_STATES[5], 'registered, roaming')
        self.assertEqual(modem.operator(), 'CHINA MOBILE')
        self.assertIsNone(modem.operator())
        self.assertEqual(modem.storage_status(), (3, 50))
        # The unsolicited +CREG (one value) is not the answer (two)
        self.assertEqual([u.line for u in modem.pop_unsolicited()],
            ['+CREG: 1'])
        self.assertIsNone(at.Signal(99, 99).dbm)

    def test_list_with_lines_slipped_in(self):
        "Unsolicited lines between a +CMGL line and its PDU stay apart"
        modem, port = initialized([
                (b'AT+CMGL=4\r', answer(
                        b'+CMGL: 0,1,,26',
                        b'^RSSI:14',
                        QUECTEL_PDU.encode(),
                        b'+CMGL: 26,2,,17',
                        TELIT_PDU.encode(),
                        b'+CMGL: 3,0,,24',
                        b'+CMTI: "SM",4',
                        b'RING',
                        CHINESE_PDU.encode())),
                ])
        messages = modem.list_messages()
        self.assertEqual(messages, [
                at.StoredMessage(0, 1, 26, QUECTEL_PDU),
                at.StoredMessage(26, 2, 17, TELIT_PDU),
                at.StoredMessage(3, 0, 24, CHINESE_PDU),
                ])
        self.assertEqual(pdu.decode(messages[2].pdu).text, '你好')
        unsolicited = modem.pop_unsolicited()
        self.assertEqual([(u.name, u.values) for u in unsolicited],
            [('^RSSI', ['14']), ('+CMTI', ['SM', '4']), ('RING', [])])

    def test_status_report_in_an_answer(self):
        "+CDS and its PDU in the middle of an answer are queued together"
        report = pdu.encode_status_report(29, '+8615055135325',
            timestamp=pdu.decode(CHINESE_PDU).timestamp,
            discharge_time=pdu.decode(CHINESE_PDU).timestamp)
        modem, port = initialized([
                (b'AT+CSQ\r', b'\r\n+CSQ: 21,99\r\n\r\n+CDS: 25\r\n'
                    + report.encode() + b'\r\n\r\nOK\r\n'),
                ])
        self.assertEqual(modem.signal_quality().rssi, 21)
        unsolicited, = modem.pop_unsolicited()
        self.assertEqual((unsolicited.name, unsolicited.pdu),
            ('+CDS', report))
        decoded = pdu.decode(unsolicited.pdu, smsc=True)
        self.assertEqual((decoded.message_reference, decoded.state),
            (29, pdu.DELIVERED))

    def test_echo_after_a_reset(self):
        "A modem that rebooted echoes again: understood, and noticed"
        modem, port = initialized([
                (b'AT+CSQ\r', b'\r\nRDY\r\n\r\n+CFUN: 1\r\n'
                    + echo(b'AT+CSQ') + answer(b'+CSQ: 20,99')),
                ])
        self.assertEqual(modem.signal_quality().rssi, 20)
        self.assertTrue(modem.reset_detected)
        self.assertEqual([u.line for u in modem.pop_unsolicited()],
            ['RDY', '+CFUN: 1'])

    def test_echo_alone_reveals_a_reset(self):
        modem, port = initialized([
                (b'AT+CMGD=3\r', echo(b'AT+CMGD=3') + answer()),
                ])
        modem.delete_message(3)
        self.assertTrue(modem.reset_detected)

    def test_poll(self):
        "What comes while no command runs"
        modem, port = initialized([])
        self.assertEqual(modem.poll(), [])
        port.say(b'\r\n+CMTI: "SM",7\r\n\r\n^RSSI:18\r\n')
        self.assertEqual([(u.name, u.values) for u in modem.poll(1)],
            [('+CMTI', ['SM', '7']), ('^RSSI', ['18'])])

    def test_errors(self):
        modem, port = initialized([
                (b'AT+CMGR=9\r', answer(final=b'+CMS ERROR: 321')),
                (b'AT+CMGR=8\r', answer(final=b'+CMS ERROR: 500')),
                (b'AT+CMGD=8\r', answer(final=b'ERROR')),
                (b'AT+CPIN?\r', answer(final=b'+CME ERROR: SIM busy')),
                (b'AT+CSQ\r', answer(final=b'COMMAND NOT SUPPORT')),
                (b'AT+CSQ\r', answer(final=b'+CME ERROR: something odd')),
                ])
        self.assertIsNone(modem.read_message(9))
        with self.assertRaises(at.CommandError) as context:
            modem.read_message(8)
        self.assertEqual((context.exception.kind, context.exception.code,
                context.exception.category), ('CMS', 500, at.TEMPORARY))
        with self.assertRaises(at.CommandError) as context:
            modem.delete_message(8)
        self.assertEqual(context.exception.category, at.MODEM)
        with self.assertRaises(at.CommandError) as context:
            modem.pin_state()
        self.assertEqual((context.exception.code, context.exception.reason),
            (14, "SIM busy"))
        for _ in range(2):
            with self.assertRaises(at.CommandError):
                modem.signal_quality()

    def test_read(self):
        modem, port = initialized([
                (b'AT+CMGR=3\r', answer(b'+CMGR: 0,,24',
                        CHINESE_PDU.encode())),
                (b'AT+CMGR=4\r', answer(b'+CMGR: 0,,0')),
                ])
        self.assertEqual(modem.read_message(3),
            at.StoredMessage(3, 0, 24, CHINESE_PDU))
        self.assertIsNone(modem.read_message(4))

    def test_delete_one_index_only(self):
        modem, port = initialized([(b'AT+CMGD=12\r', answer())])
        modem.delete_message(12)
        self.assertEqual(port.writes, [b'AT+CMGD=12\r'])
        with self.assertRaises(ValueError):
            modem.delete_message('1,4')

    def test_timeout(self):
        "A modem that stops answering: a clear timeout, then a clean start"
        modem, port = initialized([(b'AT+CSQ\r', b'\r\n+CSQ: 2')],
            timeout=3)
        with self.assertRaises(at.ModemTimeout) as context:
            modem.signal_quality()
        self.assertIn("did not answer AT+CSQ within 3 s",
            str(context.exception))
        # Its late answer is not taken for the next command's
        port.say(b'0,99\r\n\r\nOK\r\n')
        port.script.append((b'AT+CSQ\r', answer(b'+CSQ: 25,99')))
        self.assertEqual(modem.signal_quality().rssi, 25)
        self.assertEqual([u.line for u in modem.pop_unsolicited()],
            ['+CSQ: 20,99', 'OK'])

    def test_port_gone(self):
        modem, port = initialized([])
        port.broken = True
        with self.assertRaises(at.PortClosed):
            modem.signal_quality()

    def test_open_by_url(self):
        "loop:// sends back what is written: echo, then silence"
        modem = at.Session.open('loop://', timeout=0.3)
        with modem:
            with self.assertRaises(at.ModemTimeout):
                modem.command('AT')
        self.assertFalse(modem.port.is_open)


class PinTestCase(unittest.TestCase):
    "The PIN is entered once, when asked, and never again if refused"

    def script(self, *steps):
        return [(at.ESCAPE, b''), (b'AT\r', answer()), (b'ATE0\r', answer()),
            (b'AT+CMEE=1\r', answer())] + list(steps)

    def test_wrong_pin_is_not_retried(self):
        modem, port = session(self.script(
                (b'AT+CPIN?\r', answer(b'+CPIN: SIM PIN')),
                (b'AT+CPIN="1111"\r', answer(final=b'+CME ERROR: 16')),
                ))
        with self.assertRaises(at.PinError) as context:
            modem.initialize(pin='1111')
        self.assertEqual(context.exception.category, at.PIN)
        self.assertIn("incorrect password", str(context.exception))
        self.assertEqual(
            [w for w in port.writes if w.startswith(b'AT+CPIN=')],
            [b'AT+CPIN="1111"\r'])

    def test_puk(self):
        modem, port = session(self.script(
                (b'AT+CPIN?\r', answer(b'+CPIN: SIM PUK')),
                ))
        with self.assertRaises(at.PinError):
            modem.initialize(pin='1234')
        self.assertNotIn(b'AT+CPIN="1234"\r', port.writes)

    def test_no_pin_set(self):
        modem, port = session(self.script(
                (b'AT+CPIN?\r', answer(b'+CPIN: SIM PIN')),
                ))
        with self.assertRaises(at.PinError):
            modem.initialize()

    def test_pin_then_busy_sim(self):
        modem, port = session(self.script(
                (b'AT+CPIN?\r', answer(b'+CPIN: SIM PIN')),
                (b'AT+CPIN="1234"\r', answer()),
                (b'AT+CPIN?\r', answer(final=b'+CME ERROR: 14')),
                (b'AT+CPIN?\r', answer(b'+CPIN: READY')),
                ) + INIT_ECHO_OFF[4:])
        self.assertEqual(modem.initialize(pin='1234'), (2, 50))
        self.assertFalse(port.script)


class SendTestCase(unittest.TestCase):
    "AT+CMGS, its prompt and what may go wrong"

    def test_quectel_transcript(self):
        "Echo on, '> ' prompt, +CMTI before the answer: reference 29"
        modem, port = initialized([
                (b'AT+CMGS=24\r', echo(b'AT+CMGS=24') + b'\r\n> '),
                (QUECTEL_PDU.encode() + at.CTRL_Z,
                    QUECTEL_PDU.encode() + b'\r\n+CMTI: "SM",1\r\n'
                    + answer(b'+CMGS: 29')),
                ])
        self.assertEqual(modem.send(QUECTEL_PDU, 24), 29)
        self.assertEqual([u.line for u in modem.pop_unsolicited()],
            ['+CMTI: "SM",1'])

    def test_prompt_without_space(self):
        part, = pdu.encode_submit('+8613812345678', '你好')
        modem, port = initialized([
                (f'AT+CMGS={part.length}\r'.encode(),
                    b'\r\n^RSSI:12\r\n\r\n>'),
                (part.hex.encode() + at.CTRL_Z, answer(b'+CMGS: 255')),
                ])
        self.assertEqual(modem.send(part.hex, part.length), 255)

    def test_refused_before_the_prompt(self):
        modem, port = initialized([
                (b'AT+CMGS=24\r', answer(final=b'+CMS ERROR: 302')),
                ])
        with self.assertRaises(at.CommandError) as context:
            modem.send(QUECTEL_PDU, 24)
        self.assertEqual(context.exception.code, 302)

    def test_network_error(self):
        modem, port = initialized([
                (b'AT+CMGS=24\r', b'\r\n> '),
                (QUECTEL_PDU.encode() + at.CTRL_Z,
                    answer(final=b'+CMS ERROR: 42')),
                ])
        with self.assertRaises(at.CommandError) as context:
            modem.send(QUECTEL_PDU, 24)
        self.assertEqual((context.exception.category,
                context.exception.reason), (at.TEMPORARY, "Congestion"))

    def test_no_prompt(self):
        "No prompt: the command is cancelled and nothing was sent"
        modem, port = initialized([(b'AT+CMGS=24\r', b'')], timeout=2)
        with self.assertRaises(at.ModemTimeout) as context:
            modem.send(QUECTEL_PDU, 24)
        self.assertIn("nothing was sent", str(context.exception))
        self.assertEqual(port.writes, [b'AT+CMGS=24\r', at.ESCAPE])

    def test_answer_lost(self):
        "The PDU went to the modem and no answer came: it may have gone"
        modem, port = initialized([
                (b'AT+CMGS=24\r', b'\r\n> '),
                (QUECTEL_PDU.encode() + at.CTRL_Z, b''),
                ], send_timeout=20)
        with self.assertRaises(at.SendUnconfirmed) as context:
            modem.send(QUECTEL_PDU, 24)
        self.assertEqual(context.exception.category, at.UNCONFIRMED)
        # The late answer is set aside, not taken for the next one's
        port.say(answer(b'+CMGS: 30'))
        port.script.append((b'AT+CSQ\r', answer(b'+CSQ: 17,99')))
        self.assertEqual(modem.signal_quality().rssi, 17)
        self.assertIn('+CMGS: 30',
            [u.line for u in modem.pop_unsolicited()])

    def test_port_lost_after_the_pdu(self):
        "The modem vanished once it had the PDU: it may have gone"
        modem, port = initialized([
                (b'AT+CMGS=24\r', b'\r\n> '),
                (QUECTEL_PDU.encode() + at.CTRL_Z, b''),
                ])
        port.break_on_ctrl_z = True
        with self.assertRaises(at.SendUnconfirmed):
            modem.send(QUECTEL_PDU, 24)
