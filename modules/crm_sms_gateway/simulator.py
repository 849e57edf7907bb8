# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""A simulated GSM modem on a socket:// URL, for the demo and the tests.

It answers the AT commands the gateway uses in PDU mode (TS 27.005/27.007),
keeps received messages in a SIM of limited capacity, records every PDU it
is asked to send and can misbehave on request: stop answering, reset with
echo back on, slip unsolicited lines into an answer, fail the next sends,
give the prompt without its space, drop the connection.

In a test:

    with Server(Modem(capacity=10)) as server:
        session = at.Session.open(server.url)
        server.modem.inject('+8613812345678', '查询余额')

As its own process, with a control port that takes one JSON object a line
({"op": "inject", "sender": "+86...", "text": "..."}, see Control):

    python -m trytond.modules.crm_sms_gateway.simulator --port 0

prints the socket:// URL of the modem, then the control address. No Tryton
here.
"""
import argparse
import collections
import dataclasses
import datetime
import json
import re
import signal
import socket
import threading
import time

from . import pdu
from .at import CME_ERRORS, split_values

__all__ = ['Modem', 'Server', 'Control', 'SentMessage', 'main']

CHINA_TIME = datetime.timezone(datetime.timedelta(hours=8))
CTRL_Z = 0x1A
ESCAPE = 0x1B


@dataclasses.dataclass
class SentMessage:
    "A PDU the modem accepted to send"
    pdu: str
    length: int
    message_reference: int
    recipient: str
    text: str | None
    reference: int | None  # concatenation reference
    sequence: int
    total: int
    status_report: bool
    time: float


class Modem:
    """The state of one simulated modem, shared by its connections

    Thread-safe: the connections, the control port and the tests call it
    from their own threads.
    """

    def __init__(self, *, capacity=30, pin=None, send_delay=0.0,
            report_delay=0.0, smsc='+8613800100500', operator='CHINA MOBILE',
            signal=20, registration=1, prompt='> '):
        self.lock = threading.RLock()
        # One message at a time goes to the network, whatever the connection
        self.send_lock = threading.Lock()
        self.capacity = capacity
        self.pin = pin
        self.send_delay = send_delay
        self.report_delay = report_delay
        self.smsc = smsc
        self.operator = operator
        self.signal = signal
        self.registration = registration
        self.prompt = prompt
        self.storage = {}  # index: [status, pdu]
        # Deliveries the SIM had no room for: the network keeps them
        self.network = collections.deque()
        self.sent = []
        self.send_attempts = 0
        self.bulk_deletes = 0  # AT+CMGD with a flag that deletes several
        self.pin_attempts = []
        self.pin_tries_left = 3
        self.locked = pin is not None
        self.report_status = {}  # recipient: TP-Status of its reports
        self.silent = False
        self.refuse_until = 0.0
        self._send_faults = collections.deque()
        self._interleave = []
        self._next_reference = 0
        self._memory_full_said = False
        self.connections = set()

    # Faults and injections

    def inject(self, sender, text, *, timestamp=None, reference=None,
            reference_bits=8, order=None, omit=(), ucs2=False):
        """A message from sender arrives; return the PDUs of its parts

        order lists the part numbers in the order they arrive; omit those
        that never come.
        """
        pdus = pdu.encode_deliver(sender, text,
            timestamp=timestamp or datetime.datetime.now(CHINA_TIME),
            smsc=self.smsc, reference=reference,
            reference_bits=reference_bits, ucs2=ucs2)
        sequences = order or range(1, len(pdus) + 1)
        for sequence in sequences:
            if sequence not in omit:
                self.inject_pdu(pdus[sequence - 1])
        return pdus

    def inject_pdu(self, value):
        "A PDU (SMSC field first) arrives from the network"
        with self.lock:
            self.network.append(('deliver', value))
            self._deliver_waiting()

    def fail_sends(self, count, code=500):
        "The next count sends end with +CMS ERROR: code"
        with self.lock:
            self._send_faults.extend([('error', code)] * count)

    def stall_next_send(self):
        "The next send goes out but the modem stops answering before +CMGS"
        with self.lock:
            self._send_faults.append(('stall', None))

    def interleave(self, lines):
        "Slip lines into the next answer, after its first line"
        with self.lock:
            self._interleave.extend(lines)

    def emit(self, line, value=None):
        "An unsolicited line (and the PDU value after it) on every connection"
        for connection in self._connections():
            connection.unsolicited(line, value)

    def reset(self):
        """The modem reboots: settings lost, echo on, PIN asked again"""
        with self.lock:
            self.locked = self.pin is not None
        for connection in self._connections():
            connection.reset()
        self.emit('RDY')
        self.emit('+CFUN: 1')
        self.emit('+CPIN: SIM PIN' if self.locked else '+CPIN: READY')
        self.emit('SMS Ready')

    def set_silent(self, silent=True):
        "Stop answering (input is swallowed) or answer again"
        with self.lock:
            self.silent = silent

    def close_connections(self, refuse_for=0.0):
        "Drop every connection, as when the port disappears"
        with self.lock:
            self.refuse_until = time.monotonic() + refuse_for
        for connection in self._connections():
            connection.close()

    # What the connections do

    def _connections(self):
        with self.lock:
            return list(self.connections)

    def _free_index(self):
        for index in range(self.capacity):
            if index not in self.storage:
                return index
        return None

    def _deliver_waiting(self):
        "Store what the network holds while the SIM has room"
        with self.lock:
            while self.network:
                index = self._free_index()
                if index is None:
                    if not self._memory_full_said:
                        # What Huawei modems say when the SIM is full
                        self._memory_full_said = True
                        self.emit('^SMMEMFULL: "SM"')
                    return
                self._memory_full_said = False
                kind, value = self.network.popleft()
                self.storage[index] = [0, value]
                for connection in self.connections:
                    connection.new_message(kind, index, value)

    def _take_interleave(self):
        with self.lock:
            lines, self._interleave = self._interleave, []
            return lines

    def _submit(self, value, length):
        """Send a PDU; return the answer lines or raise _Error"""
        try:
            message = pdu.decode(value)
        except pdu.PDUError:
            raise _Error('CMS', 304)
        if not isinstance(message, pdu.Submit) \
                or _tpdu_length(value) != length:
            raise _Error('CMS', 304)
        with self.lock:
            self.send_attempts += 1
            fault = self._send_faults.popleft() if self._send_faults else None
            if fault and fault[0] == 'error':
                raise _Error('CMS', fault[1])
            if self.registration not in (1, 5):
                raise _Error('CMS', 331)
        with self.send_lock:
            time.sleep(self.send_delay)
        concat = message.concat
        with self.lock:
            reference = self._next_reference
            self._next_reference = (reference + 1) % 256
            sent = SentMessage(pdu=value, length=length,
                message_reference=reference, recipient=message.recipient,
                text=message.text,
                reference=concat.reference if concat else None,
                sequence=concat.sequence if concat else 1,
                total=concat.total if concat else 1,
                status_report=message.status_report_request,
                time=time.time())
            self.sent.append(sent)
            stalled = fault is not None and fault[0] == 'stall'
            if stalled:
                self.silent = True
        if sent.status_report:
            timer = threading.Timer(self.report_delay, self._report, (sent,))
            timer.daemon = True
            timer.start()
        return None if stalled else [f'+CMGS: {reference}']

    def _report(self, sent):
        """The status report of a message comes back

        As +CDS to the connections that asked for it (AT+CNMI=...,1),
        stored on the SIM with +CDSI otherwise.
        """
        value = pdu.encode_status_report(sent.message_reference,
            sent.recipient, status=self.report_status.get(sent.recipient, 0),
            timestamp=datetime.datetime.fromtimestamp(sent.time, CHINA_TIME),
            discharge_time=datetime.datetime.now(CHINA_TIME), smsc=self.smsc)
        with self.lock:
            direct = [c for c in self.connections if c.cnmi[3] == 1]
            for connection in direct:
                connection.unsolicited(f'+CDS: {_tpdu_length(value)}', value)
            if not direct:
                self.network.append(('report', value))
                self._deliver_waiting()

    def _write(self, value, status):
        with self.lock:
            index = self._free_index()
            if index is None:
                raise _Error('CMS', 322)
            self.storage[index] = [status, value]
            return index

    def _list(self, status):
        with self.lock:
            listed = [(i, s, v) for i, (s, v) in sorted(self.storage.items())
                if status == 4 or s == status]
            for index, stored_status, _ in listed:
                if stored_status == 0:
                    self.storage[index][0] = 1
            return listed

    def _read(self, index):
        with self.lock:
            if index not in self.storage:
                raise _Error('CMS', 321)
            stored = self.storage[index]
            status, value = stored
            if status == 0:
                stored[0] = 1
            return status, value

    def _delete(self, index, flag):
        with self.lock:
            if not 0 <= index < self.capacity:
                raise _Error('CMS', 321)
            if flag:
                self.bulk_deletes += 1
                # TS 27.005 3.5.4: 1 read, 2 read and sent, 3 read, sent and
                # unsent, 4 all
                doomed = {1: {1}, 2: {1, 3}, 3: {1, 2, 3},
                    4: {0, 1, 2, 3}}.get(flag)
                if doomed is None:
                    raise _Error('CMS', 302)
                for key in [k for k, (s, _) in self.storage.items()
                        if s in doomed]:
                    del self.storage[key]
            else:
                self.storage.pop(index, None)
            self._deliver_waiting()

    def _enter_pin(self, value):
        with self.lock:
            self.pin_attempts.append(value)
            if not self.locked:
                return
            if self.pin_tries_left <= 0:
                raise _Error('CME', 12)
            if value != self.pin:
                self.pin_tries_left -= 1
                raise _Error('CME', 16)
            self.locked = False
            self.pin_tries_left = 3

    def _pin_state(self):
        with self.lock:
            if not self.locked:
                return 'READY'
            return 'SIM PIN' if self.pin_tries_left > 0 else 'SIM PUK'

    def snapshot(self):
        "What the tests check, as plain data"
        with self.lock:
            return {
                'sent': [dataclasses.asdict(s) for s in self.sent],
                'storage': {i: list(v) for i, v in self.storage.items()},
                'network': len(self.network),
                'send_attempts': self.send_attempts,
                'bulk_deletes': self.bulk_deletes,
                'pin_attempts': list(self.pin_attempts),
                }


class _Error(Exception):
    "An error the modem answers with"

    def __init__(self, kind, code=None):
        super().__init__(kind, code)
        self.kind = kind
        self.code = code


_COMMAND = re.compile(r'^([+^][A-Z]+)(=\?|\?|=(.*))?$', re.IGNORECASE)


class _Connection:
    "One client of the modem: its settings and its AT interpreter"

    def __init__(self, modem, sock):
        self.modem = modem
        self.socket = sock
        self.write_lock = threading.Lock()
        self.busy = False  # answering: unsolicited lines wait
        self.held = []
        self.closed = False
        self.reset()

    def reset(self):
        self.echo = True
        self.cmee = 0
        self.cmgf = 0
        self.cnmi = [0, 0, 0, 0, 0]
        self.creg = 0
        self.input = bytearray()
        self.pdu_mode = None  # (command, length) while taking a PDU

    # Output

    def _send(self, data):
        if self.modem.silent or self.closed:
            return
        try:
            with self.write_lock:
                self.socket.sendall(data)
        except OSError:
            self.close()

    def unsolicited(self, line, value=None):
        text = f'\r\n{line}\r\n' + (f'{value}\r\n' if value else '')
        with self.write_lock:
            if self.busy or self.pdu_mode:
                self.held.append(text)
                return
        self._send(text.encode())

    def new_message(self, kind, index, value):
        "A message or report was stored at index"
        if kind == 'deliver' and self.cnmi[1] in (1, 2, 3):
            self.unsolicited(f'+CMTI: "SM",{index}')
        elif kind == 'report' and self.cnmi[3] == 2:
            self.unsolicited(f'+CDSI: "SM",{index}')

    def _answer(self, lines, final='OK'):
        interleaved = self.modem._take_interleave()
        chunks = [f'\r\n{line}\r\n' for line in lines]
        chunks.insert(min(1, len(chunks)),
            ''.join(f'\r\n{line}\r\n' for line in interleaved))
        chunks.append(f'\r\n{final}\r\n')
        self._send(''.join(chunks).encode())

    def _error(self, error):
        if error.kind == 'CMS':
            final = f'+CMS ERROR: {error.code}'
        elif error.kind == 'CME' and self.cmee == 1:
            final = f'+CME ERROR: {error.code}'
        elif error.kind == 'CME' and self.cmee == 2:
            final = f'+CME ERROR: {CME_ERRORS[error.code][0]}'
        else:
            final = 'ERROR'
        self._answer([], final)

    def _flush_held(self):
        with self.write_lock:
            held, self.held = self.held, []
        if held:
            self._send(''.join(held).encode())

    def close(self):
        self.closed = True
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()

    # Input

    def feed(self, data):
        if self.modem.silent:
            return
        if self.echo:
            self._send(bytes(data))
        for octet in data:
            if self.pdu_mode:
                self._feed_pdu(octet)
            elif octet == ord('\r'):
                line = self.input.decode('ascii', 'replace').strip()
                self.input.clear()
                if line:
                    self._run(line)
            elif octet not in (ord('\n'), ESCAPE):
                self.input.append(octet)

    def _feed_pdu(self, octet):
        if octet == ESCAPE:
            self.pdu_mode = None
            self.input.clear()
            self._answer([])
            self._flush_held()
        elif octet == CTRL_Z:
            command, length = self.pdu_mode
            value = self.input.decode('ascii', 'replace').strip().upper()
            self.pdu_mode = None
            self.input.clear()
            self._reply(command, value, length)
        elif octet not in b'\r\n':
            self.input.append(octet)

    def _run(self, line):
        self._reply(self._execute, line)

    def _reply(self, call, *args):
        "Answer what call returns; None: a prompt, the answer comes later"
        self.busy = True
        try:
            lines = call(*args)
        except _Error as error:
            self._error(error)
        else:
            if lines is not None:
                self._answer(lines)
        finally:
            self.busy = False
        if not self.pdu_mode:
            self._flush_held()

    def _execute(self, line):
        "Run one command line; return the answer lines, None for a prompt"
        if not line.upper().startswith('AT'):
            raise _Error(None)
        body = line[2:]
        upper = body.upper()
        if upper == '':
            return []
        if upper in ('E0', 'E1', 'E'):
            self.echo = upper == 'E1'
            return []
        if upper == 'Z':
            self.reset()
            return []
        if upper in ('V1', 'I'):
            return ['Simulated GSM modem'] if upper == 'I' else []
        match = _COMMAND.match(body)
        if not match:
            raise _Error(None)
        name, suffix, argument = match.groups()
        handler = getattr(self, 'at_' + name[1:].lower(), None)
        if handler is None:
            raise _Error(None)
        if suffix == '=?':
            return []
        kind = {'?': 'read', None: 'run'}.get(suffix, 'set')
        return handler(kind, split_values(argument) if argument else [])

    def _unlocked(self):
        if self.modem.locked:
            raise _Error('CMS', 311)

    def _pdu_mode(self):
        self._unlocked()
        if self.cmgf != 0:
            raise _Error('CMS', 302)

    # Commands, named after AT+<name>

    def at_cmee(self, kind, args):
        if kind == 'read':
            return [f'+CMEE: {self.cmee}']
        self.cmee = _number(args, 0)
        return []

    def at_cpin(self, kind, args):
        if kind == 'read':
            return [f'+CPIN: {self.modem._pin_state()}']
        if kind != 'set' or not args:
            raise _Error('CME', 3)
        self.modem._enter_pin(args[0])
        return []

    def at_cmgf(self, kind, args):
        if kind == 'read':
            return [f'+CMGF: {self.cmgf}']
        value = _number(args, 0)
        if value not in (0, 1):
            raise _Error('CMS', 302)
        self.cmgf = value
        return []

    def at_cpms(self, kind, args):
        self._unlocked()
        if kind == 'set' and any(a not in ('SM', 'ME', 'MT') for a in args):
            raise _Error('CMS', 302)
        with self.modem.lock:
            used, total = len(self.modem.storage), self.modem.capacity
        if kind == 'read':
            return ['+CPMS: ' + ','.join([f'"SM",{used},{total}'] * 3)]
        return ['+CPMS: ' + ','.join([f'{used},{total}'] * 3)]

    def at_cnmi(self, kind, args):
        if kind == 'read':
            return ['+CNMI: ' + ','.join(map(str, self.cnmi))]
        for position, value in enumerate(args[:5]):
            if value != '':
                self.cnmi[position] = int(value)
        return []

    def at_csca(self, kind, args):
        if kind == 'read':
            number_type = 145 if self.modem.smsc.startswith('+') else 129
            return [f'+CSCA: "{self.modem.smsc}",{number_type}']
        if not args or not args[0]:
            raise _Error('CMS', 302)
        with self.modem.lock:
            self.modem.smsc = args[0]
        return []

    def _ask_pdu(self, kind, args, command):
        "Prompt for the PDU that command(pdu, length) takes"
        self._pdu_mode()
        if kind != 'set':
            raise _Error('CMS', 302)
        self.pdu_mode = (command, _number(args, 0))
        self._send(f'\r\n{self.modem.prompt}'.encode())

    def at_cmgs(self, kind, args):
        self._ask_pdu(kind, args, self.modem._submit)

    def at_cmgw(self, kind, args):
        self._pdu_mode()
        with self.modem.lock:
            if self.modem._free_index() is None:
                raise _Error('CMS', 322)
        status = _number(args[1:], 2)
        self._ask_pdu(kind, args, lambda value, length: [
                f'+CMGW: {self.modem._write(value, status)}'])

    def at_cmgl(self, kind, args):
        self._pdu_mode()
        status = _number(args, 4) if kind == 'set' else 0
        lines = []
        for index, stored_status, value in self.modem._list(status):
            lines.append(
                f'+CMGL: {index},{stored_status},,{_tpdu_length(value)}')
            lines.append(value)
        return lines

    def at_cmgr(self, kind, args):
        self._pdu_mode()
        status, value = self.modem._read(_number(args, -1))
        return [f'+CMGR: {status},,{_tpdu_length(value)}', value]

    def at_cmgd(self, kind, args):
        self._unlocked()
        if kind != 'set' or not args:
            raise _Error('CMS', 302)
        self.modem._delete(_number(args, -1), _number(args[1:], 0))
        return []

    def at_cnma(self, kind, args):
        return []

    def at_csms(self, kind, args):
        return ['+CSMS: 0,1,1,1' if kind == 'read' else '+CSMS: 1,1,1']

    def at_csq(self, kind, args):
        return [f'+CSQ: {self.modem.signal},99']

    def at_creg(self, kind, args):
        if kind == 'read':
            return [f'+CREG: {self.creg},{self.modem.registration}']
        self.creg = _number(args, 0)
        return []

    def at_cops(self, kind, args):
        if kind != 'read':
            return []
        if self.modem.registration not in (1, 5):
            return ['+COPS: 0']
        return [f'+COPS: 0,0,"{self.modem.operator}",7']

    def at_cgmi(self, kind, args):
        return ['Tryton CRM']

    def at_cgmm(self, kind, args):
        return ['Simulated GSM modem']


def _tpdu_length(value):
    "The octets of a PDU after its service centre field"
    return len(value) // 2 - 1 - int(value[:2], 16)


def _number(args, default):
    try:
        return int(args[0]) if args and args[0] != '' else default
    except ValueError:
        raise _Error('CMS', 302) from None


class Server:
    "Serves a Modem on a TCP port: the gateway opens socket://host:port"

    def __init__(self, modem=None, host='127.0.0.1', port=0):
        self.modem = modem or Modem()
        self.listener = socket.create_server((host, port))
        self.host, self.port = self.listener.getsockname()[:2]
        self._thread = None

    @property
    def url(self):
        return f'socket://{self.host}:{self.port}'

    def start(self):
        self._thread = threading.Thread(target=self._accept, daemon=True,
            name=f'modem {self.port}')
        self._thread.start()
        return self

    def stop(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.modem.close_connections()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.modem.refuse_until:
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(self.modem, sock)
            with self.modem.lock:
                self.modem.connections.add(connection)
            threading.Thread(target=self._serve, args=(connection,),
                daemon=True).start()

    def _serve(self, connection):
        try:
            while not connection.closed:
                try:
                    data = connection.socket.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                connection.feed(data)
        finally:
            with self.modem.lock:
                self.modem.connections.discard(connection)
            if not connection.closed:
                connection.close()


# The control port of a simulator run as its own process

_CONTROL_OPERATIONS = {
    'inject': lambda m, a: m.inject(**dict(a, timestamp=(
                datetime.datetime.fromisoformat(a['timestamp'])
                if a.get('timestamp') else None))),
    'inject_pdu': lambda m, a: m.inject_pdu(a['pdu']),
    'fail_sends': lambda m, a: m.fail_sends(**a),
    'stall_next_send': lambda m, a: m.stall_next_send(),
    'interleave': lambda m, a: m.interleave(a['lines']),
    'emit': lambda m, a: m.emit(a['line'], a.get('pdu')),
    'reset': lambda m, a: m.reset(),
    'silent': lambda m, a: m.set_silent(a.get('silent', True)),
    'close_connections': lambda m, a: m.close_connections(**a),
    'configure': lambda m, a: _configure(m, **a),
    'snapshot': lambda m, a: m.snapshot(),
    }
_SETTINGS = {'send_delay', 'report_delay', 'prompt', 'capacity', 'signal',
    'registration', 'report_status', 'operator'}


def _configure(modem, **settings):
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    with modem.lock:
        for name, value in settings.items():
            setattr(modem, name, value)
        modem._deliver_waiting()


def _serve_control(listener, modem):
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_control_client, args=(sock, modem),
            daemon=True).start()


def _control_client(sock, modem):
    with sock, sock.makefile('rwb') as stream:
        for raw in stream:
            try:
                request = json.loads(raw)
                operation = _CONTROL_OPERATIONS[request.pop('op')]
                result = {'ok': True, 'result': operation(modem, request)}
            except Exception as exception:  # reported to the client
                result = {'ok': False, 'error': repr(exception)}
            stream.write(json.dumps(result, default=str).encode() + b'\n')
            stream.flush()


class Control:
    "A client of the control port of a simulator run as its own process"

    def __init__(self, address, timeout=10.0):
        host, port = address.rsplit(':', 1)
        self.socket = socket.create_connection((host, int(port)), timeout)
        self.stream = self.socket.makefile('rwb')

    def call(self, op, **arguments):
        self.stream.write(
            json.dumps(dict(arguments, op=op)).encode() + b'\n')
        self.stream.flush()
        answer = json.loads(self.stream.readline())
        if not answer['ok']:
            raise RuntimeError(f"simulator: {answer['error']}")
        return answer['result']

    def close(self):
        self.stream.close()
        self.socket.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0,
        help="the modem's TCP port, 0 for any free one")
    parser.add_argument('--control-port', type=int, default=0)
    parser.add_argument('--capacity', type=int, default=30,
        help="messages the SIM holds")
    parser.add_argument('--pin', help="the SIM asks for this PIN")
    parser.add_argument('--send-delay', type=float, default=0.0,
        help="seconds the network takes per message sent")
    parser.add_argument('--report-delay', type=float, default=0.0,
        help="seconds before a status report comes")
    parser.add_argument('--prompt', default='> ')
    options = parser.parse_args(argv)
    modem = Modem(capacity=options.capacity, pin=options.pin,
        send_delay=options.send_delay, report_delay=options.report_delay,
        prompt=options.prompt)
    server = Server(modem, options.host, options.port).start()
    control = socket.create_server((options.host, options.control_port))
    threading.Thread(target=_serve_control, args=(control, modem),
        daemon=True).start()
    print(server.url, flush=True)
    print(f'control: {options.host}:{control.getsockname()[1]}', flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
    control.close()


if __name__ == '__main__':
    main()
