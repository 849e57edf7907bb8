# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""An AT command session with a GSM modem in PDU mode.

Written from 3GPP TS 27.007 (general commands, +CME ERROR) and TS 27.005
(short messages, +CMS ERROR). The session runs over any pyserial-like port
(read with a timeout, write), normally opened by URL: /dev/ttyUSB0,
socket://host:port, rfc2217://host:port or loop://.

The reader keeps what the modem says on its own (RING, +CMTI, +CDS, ^RSSI,
RDY...) apart from the answer to the command and queues it for the caller;
it ignores the echo of commands, which a modem turns back on when it resets;
and it raises ModemTimeout when the modem stops answering. No Tryton here.
"""
import collections
import dataclasses
import re
import select
import time

import serial

__all__ = [
    'TEMPORARY', 'MESSAGE', 'MODEM', 'PIN', 'UNCONFIRMED', 'CMS_ERRORS', 'CME_ERRORS',
    'error_reason', 'ModemError', 'ModemTimeout', 'PortClosed',
    'CommandError', 'PinError', 'SendUnconfirmed', 'Unsolicited',
    'StoredMessage', 'Signal', 'REGISTRATION_STATES', 'Session',
    'split_values',
    ]

# What an error means for the gateway
TEMPORARY = 'temporary'  # try again later, with backoff
MESSAGE = 'message'  # the message (or the index) is wrong: do not retry it
MODEM = 'modem'  # the modem, its SIM or its set-up: use other modems
PIN = 'pin'  # the SIM wants a PIN or PUK: never retry a PIN on its own
UNCONFIRMED = 'unconfirmed'  # may have been sent: review, never resend

# +CMS ERROR codes: TS 27.005 3.2.5 (0-127 are TS 24.011 RP causes, 128-255
# TS 23.040 TP failure causes); the classes follow what real networks do.
CMS_ERRORS = {
    1: ("Unassigned (unallocated) number", MESSAGE),
    8: ("Operator determined barring", MESSAGE),
    10: ("Call barred", MESSAGE),
    21: ("Short message transfer rejected", MESSAGE),
    27: ("Destination out of service", TEMPORARY),
    28: ("Unidentified subscriber", MESSAGE),
    29: ("Facility rejected", MESSAGE),
    30: ("Unknown subscriber", MESSAGE),
    38: ("Network out of order", TEMPORARY),
    41: ("Temporary failure", TEMPORARY),
    42: ("Congestion", TEMPORARY),
    47: ("Resources unavailable, unspecified", TEMPORARY),
    50: ("Requested facility not subscribed", MESSAGE),
    69: ("Requested facility not implemented", MESSAGE),
    81: ("Invalid short message transfer reference value", TEMPORARY),
    95: ("Invalid message, unspecified", MESSAGE),
    96: ("Invalid mandatory information", MESSAGE),
    97: ("Message type non-existent or not implemented", MESSAGE),
    98: ("Message not compatible with short message protocol state",
        MESSAGE),
    99: ("Information element non-existent or not implemented", MESSAGE),
    111: ("Protocol error, unspecified", TEMPORARY),
    127: ("Interworking, unspecified", TEMPORARY),
    128: ("Telematic interworking not supported", MESSAGE),
    129: ("Short message type 0 not supported", MESSAGE),
    130: ("Cannot replace short message", MESSAGE),
    143: ("Unspecified TP-PID error", MESSAGE),
    144: ("Data coding scheme (alphabet) not supported", MESSAGE),
    145: ("Message class not supported", MESSAGE),
    159: ("Unspecified TP-DCS error", MESSAGE),
    160: ("Command cannot be actioned", MESSAGE),
    161: ("Command unsupported", MESSAGE),
    175: ("Unspecified TP-Command error", MESSAGE),
    176: ("TPDU not supported", MESSAGE),
    192: ("Service centre busy", TEMPORARY),
    193: ("No service centre subscription", MODEM),
    194: ("Service centre system failure", TEMPORARY),
    195: ("Invalid destination address", MESSAGE),
    196: ("Destination barred", MESSAGE),
    197: ("Rejected as a duplicate", MESSAGE),
    198: ("Validity period format not supported", MESSAGE),
    199: ("Validity period not supported", MESSAGE),
    208: ("SIM SMS storage full", MODEM),
    209: ("No SMS storage capability in SIM", MODEM),
    210: ("Error in the mobile", MODEM),
    211: ("Memory capacity exceeded", MODEM),
    212: ("SIM application toolkit busy", TEMPORARY),
    213: ("SIM data download error", MODEM),
    255: ("Unspecified error cause", TEMPORARY),
    300: ("ME failure", MODEM),
    301: ("SMS service of ME reserved", MODEM),
    302: ("Operation not allowed", MODEM),
    303: ("Operation not supported", MODEM),
    304: ("Invalid PDU mode parameter", MESSAGE),
    305: ("Invalid text mode parameter", MODEM),
    310: ("SIM not inserted", MODEM),
    311: ("SIM PIN required", PIN),
    312: ("PH-SIM PIN required", PIN),
    313: ("SIM failure", MODEM),
    314: ("SIM busy", MODEM),
    315: ("SIM wrong", MODEM),
    316: ("SIM PUK required", PIN),
    317: ("SIM PIN2 required", PIN),
    318: ("SIM PUK2 required", PIN),
    320: ("Memory failure", MODEM),
    321: ("Invalid memory index", MESSAGE),
    322: ("Memory full: the SIM has no room for incoming messages", MODEM),
    330: ("SMSC address unknown: set the modem's service centre number",
        MODEM),
    331: ("No network service", TEMPORARY),
    332: ("Network timeout", TEMPORARY),
    340: ("No +CNMA acknowledgement expected", MODEM),
    500: ("Unknown error", TEMPORARY),
    512: ("Manufacturer specific: SMS not ready or network busy", TEMPORARY),
    515: ("Please wait, initialisation or command in progress", TEMPORARY),
    }

# +CME ERROR codes: TS 27.007 9.2 (the reasons are the standard's verbose
# texts, so modems set to AT+CMEE=2 are understood too)
CME_ERRORS = {
    0: ("phone failure", MODEM),
    1: ("no connection to phone", MODEM),
    2: ("phone-adaptor link reserved", MODEM),
    3: ("operation not allowed", MODEM),
    4: ("operation not supported", MODEM),
    5: ("PH-SIM PIN required", PIN),
    6: ("PH-FSIM PIN required", PIN),
    7: ("PH-FSIM PUK required", PIN),
    10: ("SIM not inserted", MODEM),
    11: ("SIM PIN required", PIN),
    12: ("SIM PUK required", PIN),
    13: ("SIM failure", MODEM),
    14: ("SIM busy", MODEM),
    15: ("SIM wrong", MODEM),
    16: ("incorrect password", PIN),
    17: ("SIM PIN2 required", PIN),
    18: ("SIM PUK2 required", PIN),
    20: ("memory full", MODEM),
    21: ("invalid index", MESSAGE),
    22: ("not found", MESSAGE),
    23: ("memory failure", MODEM),
    24: ("text string too long", MESSAGE),
    25: ("invalid characters in text string", MESSAGE),
    26: ("dial string too long", MESSAGE),
    27: ("invalid characters in dial string", MESSAGE),
    30: ("no network service", TEMPORARY),
    31: ("network timeout", TEMPORARY),
    32: ("network not allowed - emergency calls only", MODEM),
    40: ("network personalization PIN required", PIN),
    41: ("network personalization PUK required", PIN),
    100: ("unknown", TEMPORARY),
    }
_CME_BY_TEXT = {reason.lower(): code
    for code, (reason, _) in CME_ERRORS.items()}
_CMS_BY_TEXT = {reason.lower(): code
    for code, (reason, _) in CMS_ERRORS.items()}

REGISTRATION_STATES = {
    0: 'not registered',
    1: 'registered, home network',
    2: 'searching',
    3: 'registration denied',
    4: 'unknown',
    5: 'registered, roaming',
    }

CTRL_Z = b'\x1a'
ESCAPE = b'\x1b'
# How long the session waits for the modem between two reads
POLL = 0.05

_FINAL_ERROR = re.compile(
    r'^(?:ERROR|COMMAND NOT SUPPORT|TOO MANY PARAMETERS'
    r'|\+(CMS|CME) ERROR:\s*(.*))$')
# Lines a modem sends on its own. Vendor lines (^RSSI, ^BOOT, ^MODE...)
# all start with ^ and are caught apart.
_UNSOLICITED = re.compile(
    r'^(?:RING|RDY|NO CARRIER|BUSY|NO ANSWER|Call Ready|SMS Ready'
    r'|PB DONE|NORMAL POWER DOWN|POWERED DOWN|UNDER-VOLTAGE'
    r'|\*[A-Z]+|\+(?:CMTI|CMT|CDSI|CDS|CBM|CBMI|CREG|CGREG|CEREG|C5GREG'
    r'|CUSD|CLIP|CRING|CCWA|CIEV|CFUN|CPIN|CTZV|CTZE|CTZU|NITZ|QIND|QUSIM'
    r'|STIN|PACSP\d*|PBREADY|CGEV|CSQN|SIM)\b)')
# After a reset: the modem has lost its settings
_RESET_MARKERS = re.compile(
    r'^(?:RDY|\^SYSSTART|\+CFUN: 1|Call Ready|SMS Ready|\+PBREADY)')
# Unsolicited lines followed by a PDU in PDU mode
_WITH_PDU = re.compile(r'^\+(?:CMT|CBM):|^\+CDS:\s*\d+$')
_HEX = re.compile(r'^[0-9A-Fa-f]+$')
_END_OF_LINE = re.compile(rb'[\r\n]')
_PROMPT = object()


def error_reason(kind, code):
    """The readable reason and class of a +CMS ERROR or +CME ERROR code

    Codes outside the tables are temporary: the worker's retry limit ends
    what cannot succeed, while a temporary error taken for permanent would
    lose a message.
    """
    table = CMS_ERRORS if kind == 'CMS' else CME_ERRORS
    if code in table:
        return table[code]
    if kind == 'CMS' and 512 <= code:
        return (f"Manufacturer specific error {code}", TEMPORARY)
    return (f"Unknown {kind} error {code}", TEMPORARY)


class ModemError(Exception):
    "The modem did not do what it was asked"
    category = MODEM


class ModemTimeout(ModemError):
    "The modem stopped answering"


class PortClosed(ModemError):
    "The port went away (modem unplugged, connection closed)"


class CommandError(ModemError):
    "The modem answered ERROR, +CMS ERROR or +CME ERROR"

    def __init__(self, command, kind=None, code=None, text=None):
        self.command = command
        self.kind = kind  # 'CMS', 'CME' or None for a plain ERROR
        self.code = code
        if code is not None:
            self.reason, self.category = error_reason(kind, code)
        else:
            # ERROR without a code, or a verbose error text we do not know
            self.reason = text or "ERROR"
            self.category = MODEM
        label = f"+{kind} ERROR: {code}" if code is not None else self.reason
        super().__init__(f"{command}: {label} ({self.reason})"
            if code is not None else f"{command}: {label}")


class PinError(ModemError):
    """The SIM is locked: no PIN was given, it was refused, or a PUK is asked

    The PIN is never tried twice: enter the right one on the modem (or
    unlock the SIM) before the gateway uses it again.
    """
    category = PIN


class SendUnconfirmed(ModemError):
    """The PDU reached the modem but its answer did not come

    The message may have gone: it must not be sent again without review.
    """
    category = UNCONFIRMED


@dataclasses.dataclass(frozen=True)
class Unsolicited:
    "A line the modem sent on its own, with the PDU that follows some"
    line: str
    pdu: str | None = None

    @property
    def name(self):
        "+CMTI, ^RSSI, RING..."
        return self.line.split(':', 1)[0].strip()

    @property
    def values(self):
        "The comma-separated values after the colon, unquoted"
        if ':' not in self.line:
            return []
        return _values(self.line)


@dataclasses.dataclass(frozen=True)
class StoredMessage:
    "A message in the modem's storage as AT+CMGL and AT+CMGR list it"
    index: int | None  # None for AT+CMGR, which names it
    status: int  # 0 received unread, 1 received read, 2 unsent, 3 sent
    length: int  # octets of the TPDU
    pdu: str  # hexadecimal, service centre field first


@dataclasses.dataclass(frozen=True)
class Signal:
    "AT+CSQ: received signal strength and bit error rate"
    rssi: int  # 0-31, 99 unknown
    ber: int  # 0-7, 99 unknown

    @property
    def dbm(self):
        "The signal in dBm (TS 27.007 8.5), None when unknown"
        if 0 <= self.rssi <= 31:
            return -113 + 2 * self.rssi
        return None


def split_values(text):
    "The comma-separated values of text, unquoted"
    values, current, quoted = [], [], False
    for char in text.strip():
        if char == '"':
            quoted = not quoted
        elif char == ',' and not quoted:
            values.append(''.join(current).strip())
            current = []
        else:
            current.append(char)
    values.append(''.join(current).strip())
    return values


def _values(line):
    "The values after the colon of an answer line"
    return split_values(line.split(':', 1)[-1])


def _one(lines, command):
    "The one answer line of a query"
    if len(lines) != 1:
        raise ModemError(f"{command}: unexpected answer {lines!r}")
    return lines[0]


def _int(value, line):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ModemError(f"unexpected answer {line!r}") from None


class Session:
    """An AT session in PDU mode over an open port

    timeout bounds each command; send_timeout the wait for the network's
    answer to AT+CMGS.
    """

    def __init__(self, port, *, timeout=10.0, send_timeout=60.0,
            clock=time.monotonic, sleep=time.sleep):
        self.port = port
        self.timeout = timeout
        self.send_timeout = send_timeout
        self.clock = clock
        self.sleep = sleep
        self.unsolicited = collections.deque()
        # Set when the modem shows it has reset (echo again, RDY...):
        # initialize() again before going on
        self.reset_detected = False
        self._buffer = bytearray()
        self._pushed_back = []
        self._echo_expected = True
        # What was written lately, to know its echo
        self._written = collections.deque(maxlen=16)
        self._stale = False
        # Reads take what has come without waiting (socket:// says one byte
        # is waiting whatever the number): the session waits itself
        if port.timeout != 0:
            port.timeout = 0

    @classmethod
    def open(cls, url, baudrate=115200, **kwargs):
        "Open the port named by a pyserial URL and start a session on it"
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=0,
            write_timeout=kwargs.get('timeout', 10.0))
        return cls(port, **kwargs)

    def close(self):
        self.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Reading and writing

    def _write(self, data):
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialTimeoutException:
            raise ModemTimeout("the modem does not take what is written") \
                from None
        except (serial.SerialException, OSError) as exception:
            raise PortClosed(f"the port is gone: {exception}") from None

    def _read(self):
        "What the modem has said since the last read"
        try:
            return self.port.read(4096)
        except (serial.SerialException, OSError) as exception:
            raise PortClosed(f"the port is gone: {exception}") from None

    def _wait(self):
        "Wait a little for the modem to say something"
        try:
            fileno = self.port.fileno()
        except (AttributeError, OSError):
            # Ports without a file (rfc2217://, loop://) are polled
            self.sleep(POLL / 5)
        else:
            select.select([fileno], [], [], POLL)

    def _fill(self, deadline):
        "Read what came; raise ModemTimeout when nothing did by deadline"
        chunk = self._read()
        if chunk:
            self._buffer.extend(chunk)
        elif self.clock() > deadline:
            raise ModemTimeout("the modem did not answer in time")
        else:
            self._wait()

    def _next(self, deadline, prompt=False):
        "The next non-empty line, or _PROMPT when prompt and '>' comes"
        if self._pushed_back:
            return self._pushed_back.pop()
        while True:
            while self._buffer[:1] in (b'\r', b'\n'):
                del self._buffer[:1]
            if prompt and self._buffer[:1] == b'>':
                # The prompt comes as '> ' or as a bare '>' and no newline
                del self._buffer[:1]
                if self._buffer[:1] == b' ':
                    del self._buffer[:1]
                return _PROMPT
            end = _END_OF_LINE.search(self._buffer)
            if end:
                line = self._buffer[:end.start()].decode('utf-8', 'replace')
                del self._buffer[:end.end()]
                line = line.strip().strip('\x1a').strip()
                if line:
                    return line
                continue
            self._fill(deadline)

    def _is_echo(self, line):
        candidate = line.lstrip('> ').strip()
        if candidate.upper() in self._written:
            if not self._echo_expected:
                self.reset_detected = True
            return True
        return False

    def _take_unsolicited(self, line, deadline):
        pdu = None
        if _WITH_PDU.match(line):
            following = self._next(deadline)
            if _HEX.match(following):
                pdu = following
            else:
                self._pushed_back.append(following)
        if _RESET_MARKERS.match(line):
            self.reset_detected = True
        self.unsolicited.append(Unsolicited(line, pdu))

    def _is_unsolicited(self, line, prefix):
        if prefix and line.startswith(prefix):
            if prefix in ('+CREG:', '+CGREG:', '+CEREG:'):
                # The answer to the query is "<n>,<stat>[,...]"; the
                # unsolicited line "<stat>[,"<lac>",...]"
                values = line.split(':', 1)[1].split(',')
                return len(values) < 2 or values[1].strip().startswith('"')
            return False
        return line.startswith('^') or bool(_UNSOLICITED.match(line))

    def _response(self, command, deadline, prefix=None, with_pdu=False):
        """Read up to the final result code; return the answer's lines

        With a prefix only lines starting with it are the answer, and other
        lines the modem sends are queued as unsolicited. with_pdu: each
        answer line is followed by a PDU line (AT+CMGL, AT+CMGR), returned
        as (line, pdu) pairs.
        """
        answer = []
        while True:
            if self.clock() > deadline:
                # A modem babbling unsolicited lines does not answer either
                raise ModemTimeout("the modem did not answer in time")
            line = self._next(deadline)
            if line == 'OK':
                return answer
            error = _FINAL_ERROR.match(line)
            if error:
                raise self._command_error(command, *error.groups())
            if self._is_echo(line):
                continue
            if self._is_unsolicited(line, prefix):
                self._take_unsolicited(line, deadline)
            elif prefix and not line.startswith(prefix):
                # Neither the answer nor a line we know: kept, not parsed
                self.unsolicited.append(Unsolicited(line))
            elif with_pdu:
                answer.append((line, self._pdu_line(line, deadline)))
            else:
                answer.append(line)

    def _pdu_line(self, header, deadline):
        "The PDU line after an answer line, None when the length is 0"
        if _values(header)[-1:] == ['0']:
            return None
        while True:
            line = self._next(deadline)
            if _HEX.match(line):
                return line
            if line == 'OK' or _FINAL_ERROR.match(line):
                self._pushed_back.append(line)
                return None
            if self._is_unsolicited(line, None):
                self._take_unsolicited(line, deadline)
            elif not self._is_echo(line):
                self.unsolicited.append(Unsolicited(line))

    def _command_error(self, command, kind, detail):
        if kind is None:
            return CommandError(command)
        detail = detail.strip()
        if detail.isdigit():
            return CommandError(command, kind, int(detail))
        table = _CMS_BY_TEXT if kind == 'CMS' else _CME_BY_TEXT
        code = table.get(detail.lower())
        if code is not None:
            return CommandError(command, kind, code)
        return CommandError(command, kind, text=detail)

    def _drain(self, quiet=0.2, limit=2.0):
        """Read until the modem has been quiet for a while

        After a timeout the answer to the abandoned command may still come:
        it is queued rather than taken for the next command's.
        """
        start = self.clock()
        last = start
        while self.clock() - last < quiet and self.clock() - start < limit:
            try:
                chunk = self._read()
            except PortClosed:
                break
            if chunk:
                self._buffer.extend(chunk)
                last = self.clock()
            else:
                self._wait()
        deadline = self.clock()
        while self._pushed_back or b'\n' in self._buffer \
                or b'\r' in self._buffer:
            try:
                line = self._next(deadline)
            except ModemTimeout:
                break
            if not self._is_echo(line):
                self.unsolicited.append(Unsolicited(line))
        self._buffer.clear()
        self._stale = False

    def command(self, command, *, prefix=None, timeout=None,
            with_pdu=False):
        """Send an AT command; return its answer lines, raise on error

        prefix: the lines of the answer start with it ('+CSQ:'); any other
        line is queued in self.unsolicited.
        """
        if self._stale:
            self._drain()
        deadline = self.clock() + (timeout or self.timeout)
        self._written.append(command.upper())
        self._write(command.encode('ascii') + b'\r')
        try:
            return self._response(command, deadline, prefix, with_pdu)
        except ModemTimeout:
            self._stale = True
            raise ModemTimeout(f"the modem did not answer {command} within "
                f"{timeout or self.timeout:g} s") from None

    def poll(self, timeout=0.0):
        """Read what the modem sent on its own; return the queued lines

        Waits up to timeout for something to come.
        """
        deadline = self.clock() + timeout
        try:
            while True:
                line = self._next(deadline)
                if self._is_echo(line):
                    continue
                if self._is_unsolicited(line, None):
                    self._take_unsolicited(line, deadline)
                else:
                    self.unsolicited.append(Unsolicited(line))
                deadline = self.clock()
        except ModemTimeout:
            pass
        return self.pop_unsolicited()

    def pop_unsolicited(self):
        lines = list(self.unsolicited)
        self.unsolicited.clear()
        return lines

    # Set-up

    def synchronize(self, attempts=3, timeout=2.0):
        """Get the modem's attention: cancel a pending prompt, expect OK"""
        for attempt in range(attempts):
            # ESC ends a PDU prompt left open by a crashed worker
            self._write(ESCAPE)
            self._drain(quiet=0.1)
            try:
                self.command('AT', timeout=timeout)
                return
            except ModemTimeout:
                if attempt == attempts - 1:
                    raise

    def initialize(self, *, pin=None, smsc=None, storage='SM'):
        """Put the modem in PDU mode with new message indications

        Return the storage's (used, total). The PIN is entered at most once
        per call and only when the SIM asks for it; a refused PIN raises
        PinError and must not be given again: the caller keeps it out of
        later calls until someone checks it.
        """
        self.synchronize()
        self.command('ATE0')
        self._echo_expected = False
        self.command('AT+CMEE=1')
        self._unlock(pin)
        self.command('AT+CMGF=0')
        used_total = self._select_storage(storage)
        try:
            # Received messages stored with +CMTI, status reports stored
            # with +CDSI: all stay on the SIM until recorded
            self.command('AT+CNMI=2,1,0,2,0')
        except CommandError:
            # Status reports as +CDS lines for modems that cannot store them
            self.command('AT+CNMI=2,1,0,1,0')
        if smsc:
            number_type = 145 if smsc.startswith('+') else 129
            self.command(f'AT+CSCA="{smsc}",{number_type}')
        self.reset_detected = False
        return used_total

    def pin_state(self):
        "READY, SIM PIN, SIM PUK... (AT+CPIN?)"
        line = _one(self.command('AT+CPIN?', prefix='+CPIN:'), 'AT+CPIN?')
        return line.split(':', 1)[1].strip()

    def _unlock(self, pin, wait=10.0):
        state = self._sim_state(wait)
        if state == 'READY':
            return
        if state != 'SIM PIN':
            raise PinError(f"the SIM asks for {state}: unlock it by hand")
        if not pin:
            raise PinError("the SIM asks for its PIN and none is set")
        try:
            self.command(f'AT+CPIN="{pin}"')
        except CommandError as error:
            raise PinError(f"the SIM refused the PIN ({error.reason}); "
                "it is not tried again") from None
        state = self._sim_state(wait)
        if state != 'READY':
            raise PinError(f"the SIM still asks for {state} after the PIN")

    def _sim_state(self, wait):
        "The PIN state, waiting while the SIM is busy (after boot or PIN)"
        deadline = self.clock() + wait
        while True:
            try:
                return self.pin_state()
            except CommandError as error:
                if (error.kind, error.code) not in {('CME', 14), ('CMS', 314)} \
                        or self.clock() > deadline:
                    raise
            self.sleep(0.5)

    def _select_storage(self, storage):
        try:
            lines = self.command(
                f'AT+CPMS="{storage}","{storage}","{storage}"',
                prefix='+CPMS:')
        except CommandError:
            # Some modems take the reading storage only
            lines = self.command(f'AT+CPMS="{storage}"', prefix='+CPMS:')
        line = _one(lines, 'AT+CPMS')
        used, total = _values(line)[:2]
        return _int(used, line), _int(total, line)

    # Messages

    def send(self, pdu, length, timeout=None):
        """Send one SMS-SUBMIT PDU (hexadecimal, SMSC field first)

        length is the TPDU's octets. Return the message reference the
        modem gives. Errors before the PDU is written mean nothing was
        sent; once it is written, a lost answer raises SendUnconfirmed.
        """
        if self._stale:
            self._drain()
        command = f'AT+CMGS={int(length)}'
        self._written.append(command)
        deadline = self.clock() + self.timeout
        self._write(command.encode('ascii') + b'\r')
        try:
            self._wait_prompt(command, deadline)
        except ModemTimeout:
            self._write(ESCAPE)
            self._stale = True
            raise ModemTimeout(f"no prompt after {command} within "
                f"{self.timeout:g} s: nothing was sent") from None
        self._written.append(pdu.upper())
        deadline = self.clock() + (timeout or self.send_timeout)
        try:
            self._write(pdu.encode('ascii') + CTRL_Z)
            lines = self._response(command, deadline, '+CMGS:')
        except (ModemTimeout, PortClosed) as error:
            self._stale = True
            raise SendUnconfirmed(f"{command}: {error}; the message may have "
                "been sent") from None
        if not lines:
            raise SendUnconfirmed(f"{command}: OK without a message "
                "reference; the message may have been sent")
        return _int(_values(lines[0])[0], lines[0])

    def _wait_prompt(self, command, deadline):
        while True:
            if self.clock() > deadline:
                raise ModemTimeout("no prompt in time")
            line = self._next(deadline, prompt=True)
            if line is _PROMPT:
                return
            error = _FINAL_ERROR.match(line)
            if error:
                raise self._command_error(command, *error.groups())
            if line == 'OK':
                raise ModemError(f"{command}: OK instead of the prompt")
            if self._is_echo(line):
                continue
            if self._is_unsolicited(line, None):
                self._take_unsolicited(line, deadline)
            else:
                self.unsolicited.append(Unsolicited(line))

    def list_messages(self, status=4, timeout=None):
        "The stored messages (AT+CMGL, 4: all) as StoredMessage"
        answer = self.command(f'AT+CMGL={int(status)}', prefix='+CMGL:',
            with_pdu=True, timeout=timeout or max(self.timeout, 30))
        messages = []
        for line, pdu in answer:
            values = _values(line)
            if pdu is None:
                continue
            messages.append(StoredMessage(
                    index=_int(values[0], line), status=_int(values[1], line),
                    length=_int(values[-1], line), pdu=pdu))
        return messages

    def read_message(self, index):
        "The message at index (AT+CMGR), None when the place is empty"
        try:
            answer = self.command(f'AT+CMGR={int(index)}', prefix='+CMGR:',
                with_pdu=True)
        except CommandError as error:
            if (error.kind, error.code) == ('CMS', 321):
                return None
            raise
        for line, pdu in answer:
            if pdu is not None:
                values = _values(line)
                return StoredMessage(index=int(index),
                    status=_int(values[0], line),
                    length=_int(values[-1], line), pdu=pdu)
        return None

    def delete_message(self, index):
        """Delete the message at index (AT+CMGD=<index>)

        One index only: deleting all would lose what arrived since the
        listing.
        """
        self.command(f'AT+CMGD={int(index)}')

    def storage_status(self):
        "(used, total) of the storage read from (AT+CPMS?)"
        line = _one(self.command('AT+CPMS?', prefix='+CPMS:'), 'AT+CPMS?')
        values = _values(line)
        return _int(values[1], line), _int(values[2], line)

    # Health

    def signal_quality(self):
        line = _one(self.command('AT+CSQ', prefix='+CSQ:'), 'AT+CSQ')
        rssi, ber = _values(line)[:2]
        return Signal(_int(rssi, line), _int(ber, line))

    def registration(self):
        "The network registration status (AT+CREG?): see REGISTRATION_STATES"
        line = _one(self.command('AT+CREG?', prefix='+CREG:'), 'AT+CREG?')
        return _int(_values(line)[1], line)

    def operator(self):
        "The operator's name as the modem gives it (AT+COPS?), None if none"
        line = _one(self.command('AT+COPS?', prefix='+COPS:'), 'AT+COPS?')
        values = _values(line)
        return values[2] if len(values) > 2 and values[2] else None
