# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""SMS protocol data units as GSM modems exchange them in PDU mode.

Written from 3GPP TS 23.040 (the transfer layer: SMS-SUBMIT, SMS-DELIVER,
SMS-STATUS-REPORT, addresses, time stamps, user data headers) and TS 23.038
(the GSM 7-bit default alphabet with its extension table, UCS2, data coding
schemes). Pure functions and plain data: no I/O and no Tryton, so the worker,
the simulated modem and the tests share them.

The PDUs handled here start with the service centre (SMSC) address, as
AT+CMGS takes them and AT+CMGL/AT+CMGR/+CDS give them in PDU mode.
"""
import binascii
import dataclasses
import datetime
import math
import random
import unicodedata
from typing import NamedTuple

__all__ = [
    'GSM7', 'UCS2', 'DATA8', 'PDUError', 'Concat', 'Deliver', 'Submit',
    'StatusReport', 'SubmitPDU', 'Assembly', 'gsm7_septets', 'is_gsm7',
    'split_text', 'count_parts', 'encode_submit', 'encode_deliver',
    'encode_status_report', 'decode', 'concat_key', 'assemble',
    'status_state', 'status_reason',
    ]

GSM7 = 'gsm7'
UCS2 = 'ucs2'
DATA8 = '8bit'

# TS 23.038 6.2.1: the default alphabet, indexed by septet value. 0x1B is
# the escape to the extension table, never a character of its own.
GSM7_BASIC = (
    '@£$¥èéùìòÇ\nØø\rÅå'
    'Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ'
    ' !"#¤%&\'()*+,-./'
    '0123456789:;<=>?'
    '¡ABCDEFGHIJKLMNO'
    'PQRSTUVWXYZÄÖÑÜ§'
    '¿abcdefghijklmno'
    'pqrstuvwxyzäöñüà')
ESCAPE = 0x1B
# TS 23.038 6.2.1.1: the default alphabet extension table
GSM7_EXTENSION = {
    0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
    0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
    }
_GSM7_ENCODE = {c: (i,) for i, c in enumerate(GSM7_BASIC) if i != ESCAPE}
_GSM7_ENCODE.update(
    (c, (ESCAPE, i)) for i, c in GSM7_EXTENSION.items())

# Payload of one short message: 140 octets, that is 160 septets or 70 UCS2
# units; the concatenation header takes 6 octets (8-bit reference) or 7
# (16-bit reference) of them.
USER_DATA_OCTETS = 140
_CONCAT_HEADER_OCTETS = {8: 6, 16: 7}

# Type of number (TS 23.040 9.1.2.5), bits 6-4 of the type of address
_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5
TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TOA_ALPHANUMERIC = 0xD0
_BCD_DIGITS = '0123456789*#abc'

# Message type indicator of the first octet, for PDUs a mobile receives
# or stores (TS 23.040 9.2.3.1)
_MTI_DELIVER = 0
_MTI_SUBMIT = 1
_MTI_STATUS_REPORT = 2

# Information elements of the user data header (TS 23.040 9.2.3.24)
_IEI_CONCAT_8 = 0x00
_IEI_CONCAT_16 = 0x08

# TS 23.040 9.2.3.15: the statuses the standard names; other values fall
# into the range's state with a generic reason.
_STATUS_REASONS = {
    0x00: "Short message received by the recipient",
    0x01: "Forwarded by the service centre, delivery unconfirmed",
    0x02: "Replaced by the service centre",
    0x20: "Congestion, the service centre is still trying",
    0x21: "Recipient busy, the service centre is still trying",
    0x22: "No response from the recipient, the service centre is still "
    "trying",
    0x23: "Service rejected, the service centre is still trying",
    0x24: "Quality of service not available, the service centre is still "
    "trying",
    0x25: "Error in the recipient, the service centre is still trying",
    0x40: "Remote procedure error",
    0x41: "Incompatible destination",
    0x42: "Connection rejected by the recipient",
    0x43: "Not obtainable",
    0x44: "Quality of service not available",
    0x45: "No interworking available",
    0x46: "Validity period expired",
    0x47: "Deleted by the sender",
    0x48: "Deleted by the service centre administration",
    0x49: "The message does not exist",
    0x60: "Congestion, the service centre gave up",
    0x61: "Recipient busy, the service centre gave up",
    0x62: "No response from the recipient, the service centre gave up",
    0x63: "Service rejected, the service centre gave up",
    0x64: "Quality of service not available, the service centre gave up",
    0x65: "Error in the recipient, the service centre gave up",
    }
DELIVERED = 'delivered'
PENDING = 'pending'
FAILED = 'failed'


class PDUError(ValueError):
    "A PDU that does not follow TS 23.040"


class Concat(NamedTuple):
    "Concatenation information element of one part"
    reference: int
    total: int
    sequence: int
    bits: int  # 8 or 16: the size of the reference


@dataclasses.dataclass(frozen=True)
class _UserData:
    alphabet: str
    message_class: int | None
    header: tuple  # ((iei, bytes), ...)
    data: bytes  # without the header; septets unpacked for GSM7
    text: str | None  # None for 8-bit data or compressed text

    @property
    def concat(self):
        for iei, value in self.header:
            if iei == _IEI_CONCAT_8 and len(value) == 3:
                reference, total, sequence = value
                bits = 8
            elif iei == _IEI_CONCAT_16 and len(value) == 4:
                reference = int.from_bytes(value[:2], 'big')
                total, sequence = value[2:]
                bits = 16
            else:
                continue
            # TS 23.040 9.2.3.24.1: such an element is to be ignored
            if total and 0 < sequence <= total:
                return Concat(reference, total, sequence, bits)
        return None


class _Text:
    "What a message carries, read from its user data"
    text = property(lambda self: self.user_data.text)
    alphabet = property(lambda self: self.user_data.alphabet)
    concat = property(lambda self: self.user_data.concat)
    message_class = property(lambda self: self.user_data.message_class)


@dataclasses.dataclass(frozen=True)
class Deliver(_Text):
    "An SMS-DELIVER: a message received from the network"
    smsc: str | None
    sender: str
    sender_toa: int
    timestamp: datetime.datetime | None
    pid: int
    dcs: int
    user_data: _UserData
    status_report_indication: bool = False
    more_messages: bool = False

    @property
    def alphanumeric_sender(self):
        return _ton(self.sender_toa) == _TON_ALPHANUMERIC


@dataclasses.dataclass(frozen=True)
class Submit(_Text):
    "An SMS-SUBMIT: a message sent, as a modem stores it or gets it to send"
    smsc: str | None
    message_reference: int
    recipient: str
    recipient_toa: int
    status_report_request: bool
    validity: datetime.timedelta | datetime.datetime | None
    pid: int
    dcs: int
    user_data: _UserData
    reject_duplicates: bool = False


@dataclasses.dataclass(frozen=True)
class StatusReport:
    "An SMS-STATUS-REPORT: what became of a message sent"
    smsc: str | None
    message_reference: int
    recipient: str
    recipient_toa: int
    timestamp: datetime.datetime | None  # when the centre took the message
    discharge_time: datetime.datetime | None  # delivery or last attempt
    status: int

    @property
    def state(self):
        return status_state(self.status)

    @property
    def reason(self):
        return status_reason(self.status)


@dataclasses.dataclass(frozen=True)
class SubmitPDU:
    "One SMS-SUBMIT ready for AT+CMGS"
    hex: str  # the PDU written after the prompt, SMSC field included
    length: int  # the octets of the TPDU: the argument of AT+CMGS
    text: str  # the part of the text this PDU carries
    sequence: int
    total: int
    reference: int | None  # the concatenation reference of multipart texts


@dataclasses.dataclass(frozen=True)
class Assembly:
    "The text of a concatenated message from the parts received"
    text: str | None
    complete: bool
    missing: tuple  # the sequence numbers not received


# Alphabets

def gsm7_septets(text):
    "The septets of text in the GSM default alphabet, None if it cannot be"
    septets = []
    for char in text:
        code = _GSM7_ENCODE.get(char)
        if code is None:
            return None
        septets.extend(code)
    return septets


def is_gsm7(text):
    return all(c in _GSM7_ENCODE for c in text)


def decode_gsm7(septets):
    chars = []
    escaped = False
    for septet in septets:
        if escaped:
            escaped = False
            if septet == ESCAPE:
                # TS 23.038: shown as a space until another table exists
                chars.append(' ')
            else:
                # TS 23.038: an unknown extension shows the basic character
                chars.append(GSM7_EXTENSION.get(septet, GSM7_BASIC[septet]))
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(GSM7_BASIC[septet])
    return ''.join(chars)


def pack_septets(septets, fill_bits=0):
    "Pack septets into octets, the first starting after fill_bits zero bits"
    packed = bytearray()
    accumulator, bits = 0, fill_bits
    for septet in septets:
        accumulator |= septet << bits
        bits += 7
        while bits >= 8:
            packed.append(accumulator & 0xFF)
            accumulator >>= 8
            bits -= 8
    if bits:
        packed.append(accumulator & 0xFF)
    return bytes(packed)


def unpack_septets(data, count, fill_bits=0):
    if math.ceil((fill_bits + 7 * count) / 8) > len(data):
        raise PDUError(f"{count} septets do not fit in {len(data)} octets")
    septets = []
    for position in range(fill_bits, fill_bits + 7 * count, 7):
        index, shift = divmod(position, 8)
        value = data[index] >> shift
        if shift > 1:
            value |= data[index + 1] << (8 - shift)
        septets.append(value & 0x7F)
    return septets


def _ucs2_units(char):
    return 2 if ord(char) > 0xFFFF else 1


# Parts of a long text

def _continues_cluster(previous, char, regional_run):
    "Whether a part may not start with char, to keep what shows as one piece"
    return (char == '\u200d' or previous == '\u200d'
        or unicodedata.combining(char)
        or '\ufe00' <= char <= '\ufe0f'
        or '\U000e0000' <= char <= '\U000e01ef'  # tags, variation selectors
        or '\U0001f3fb' <= char <= '\U0001f3ff'  # skin tones
        or char == '\u20e3'  # keycap
        # a flag is a pair of regional indicators
        or (_regional(char) and regional_run % 2 == 1))


def _regional(char):
    return '\U0001f1e6' <= char <= '\U0001f1ff'


def split_text(text, reference_bits=8, alphabet=None):
    """Return the alphabet of text and the texts of its parts

    GSM 7-bit when every character is in the default alphabet or its
    extension table, else UCS2 (alphabet=UCS2 forces it). A part never
    splits an escape sequence, a surrogate pair nor, where it can, a
    character from what joins it (accents, emoji sequences, flags).
    """
    if reference_bits not in _CONCAT_HEADER_OCTETS:
        raise ValueError("the reference has 8 or 16 bits")
    header = _CONCAT_HEADER_OCTETS[reference_bits]
    septets = gsm7_septets(text) if alphabet != UCS2 else None
    if septets is not None:
        if len(septets) <= USER_DATA_OCTETS * 8 // 7:
            return GSM7, [text]
        limit = (USER_DATA_OCTETS - header) * 8 // 7
        return GSM7, _cut(text, limit, lambda c: len(_GSM7_ENCODE[c]))
    if alphabet == GSM7:
        raise PDUError(f"{text!r} is not in the GSM default alphabet")
    if sum(map(_ucs2_units, text)) <= USER_DATA_OCTETS // 2:
        return UCS2, [text]
    limit = (USER_DATA_OCTETS - header) // 2
    return UCS2, _cut(text, limit, _ucs2_units, clusters=True)


def _cut(text, limit, size, clusters=False):
    parts = []
    start = 0
    while start < len(text):
        end, used = start, 0
        while end < len(text) and used + size(text[end]) <= limit:
            used += size(text[end])
            end += 1
        if clusters and end < len(text):
            end = _cluster_boundary(text, start, end)
        parts.append(text[start:end])
        start = end
    return parts


def _cluster_boundary(text, start, end):
    "The last position from start to end where a part may end"
    regional_run = 0
    boundaries = []
    for position in range(start + 1, end + 1):
        previous, char = text[position - 1], text[position]
        regional_run = regional_run + 1 if _regional(previous) else 0
        if not _continues_cluster(previous, char, regional_run):
            boundaries.append(position)
    # A cluster longer than a part is cut where the part is full
    return boundaries[-1] if boundaries else end


def count_parts(text, reference_bits=8):
    "The number of short messages that carry text"
    return len(split_text(text, reference_bits)[1])


# Fields

def _hex(data):
    return binascii.hexlify(data).decode('ascii').upper()


def _unhex(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return binascii.unhexlify(''.join(value.split()))
    except (binascii.Error, ValueError) as exception:
        raise PDUError(f"not a hexadecimal PDU: {exception}") from None


def _ton(type_of_address):
    return (type_of_address >> 4) & 0x7


def _encode_digits(digits):
    try:
        nibbles = [_BCD_DIGITS.index(d) for d in digits.lower()]
    except ValueError:
        raise PDUError(f"{digits!r} is not a phone number") from None
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(low | high << 4
        for low, high in zip(nibbles[::2], nibbles[1::2]))


def _decode_digits(data, count):
    digits = []
    for octet in data:
        for nibble in (octet & 0xF, octet >> 4):
            if nibble < len(_BCD_DIGITS):
                digits.append(_BCD_DIGITS[nibble])
    return ''.join(digits[:count])


def _address_parts(number):
    "The type of address and the semi-octet count and octets of number"
    if not number:
        raise PDUError("an address is required")
    if number.startswith('+'):
        digits = number[1:]
        return TOA_INTERNATIONAL, len(digits), _encode_digits(digits)
    if all(c in _BCD_DIGITS for c in number.lower()):
        return TOA_UNKNOWN, len(number), _encode_digits(number)
    # Alphanumeric (TS 23.040 9.1.2.5): GSM 7-bit packed, up to 11 chars
    septets = gsm7_septets(number)
    if septets is None or len(septets) > 11:
        raise PDUError(f"{number!r} is not an address")
    packed = pack_septets(septets)
    return TOA_ALPHANUMERIC, math.ceil(len(septets) * 7 / 4), packed


def encode_address(number):
    "The address field of a TPDU: length in semi-octets, type, value"
    type_of_address, length, value = _address_parts(number)
    return bytes([length, type_of_address]) + value


def encode_smsc(number):
    "The leading service centre field: its length counts octets"
    if not number:
        return b'\x00'
    type_of_address, _, value = _address_parts(number)
    if type_of_address == TOA_ALPHANUMERIC:
        raise PDUError(f"{number!r} is not a service centre number")
    return bytes([len(value) + 1, type_of_address]) + value


def _decode_address_value(type_of_address, value, semi_octets):
    if _ton(type_of_address) == _TON_ALPHANUMERIC:
        return decode_gsm7(unpack_septets(value, semi_octets * 4 // 7))
    number = _decode_digits(value, semi_octets)
    if _ton(type_of_address) == _TON_INTERNATIONAL and number:
        number = '+' + number
    return number


def _swap(octet):
    "The two digits of a semi-octet pair, None if one is not a digit"
    low, high = octet & 0xF, octet >> 4
    if low > 9 or high > 9:
        return None
    return low * 10 + high


def encode_timestamp(moment):
    "Seven semi-octet pairs of a time stamp with its offset (TS 23.040 9.2.3.11)"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    quarters = round(moment.utcoffset().total_seconds() / 900)
    fields = [moment.year % 100, moment.month, moment.day,
        moment.hour, moment.minute, moment.second]
    octets = [(v % 10) << 4 | v // 10 for v in fields]
    size = abs(quarters)
    octets.append((size % 10) << 4 | size // 10 | (0x8 if quarters < 0 else 0))
    return bytes(octets)


def decode_timestamp(data):
    """The time stamp of seven octets, None when it is not a valid one

    A bad stamp does not make a message unreadable: it loses its time only.
    Two-digit years from 90 are of the last century.
    """
    values = [_swap(o) for o in data[:6]]
    zone = data[6]
    tens, units = zone & 0x7, zone >> 4
    if None in values or units > 9:
        return None
    quarters = (tens * 10 + units) * (-1 if zone & 0x8 else 1)
    if abs(quarters) > 14 * 4:  # no place is further from UTC
        return None
    year, month, day, hour, minute, second = values
    year += 1900 if year >= 90 else 2000
    try:
        offset = datetime.timezone(datetime.timedelta(minutes=15 * quarters))
        return datetime.datetime(
            year, month, day, hour, minute, second, tzinfo=offset)
    except ValueError:
        return None


def encode_relative_validity(delta):
    """The relative validity octet (TS 23.040 9.2.3.12.1)

    The shortest period the field can say that is not shorter than delta,
    63 weeks at most.
    """
    minutes = max(math.ceil(delta.total_seconds() / 60), 5)
    if minutes <= 12 * 60:
        return math.ceil(minutes / 5) - 1
    if minutes <= 24 * 60:
        return 143 + math.ceil((minutes - 12 * 60) / 30)
    if minutes <= 30 * 24 * 60:
        return 166 + math.ceil(minutes / (24 * 60))
    return min(192 + math.ceil(minutes / (7 * 24 * 60)), 255)


def decode_relative_validity(octet):
    if octet <= 143:
        return datetime.timedelta(minutes=(octet + 1) * 5)
    if octet <= 167:
        return datetime.timedelta(hours=12, minutes=(octet - 143) * 30)
    if octet <= 196:
        return datetime.timedelta(days=octet - 166)
    return datetime.timedelta(weeks=octet - 192)


def _data_coding(dcs):
    "The alphabet, message class and compression of a data coding scheme"
    group = dcs >> 4
    if group < 0x8:  # general data coding, with automatic deletion or not
        alphabet = (GSM7, DATA8, UCS2, GSM7)[(dcs >> 2) & 0x3]
        return alphabet, (dcs & 0x3 if dcs & 0x10 else None), bool(dcs & 0x20)
    if group == 0xE:  # message waiting indication, UCS2
        return UCS2, None, False
    if group == 0xF:  # data coding and message class
        return (DATA8 if dcs & 0x4 else GSM7), dcs & 0x3, False
    # Message waiting indications in GSM 7-bit, and the reserved groups
    # that TS 23.038 says to read as such
    return GSM7, None, False


def _dcs(alphabet, message_class):
    value = {GSM7: 0x00, DATA8: 0x04, UCS2: 0x08}[alphabet]
    if message_class is not None:
        value |= 0x10 | message_class
    return value


def _parse_header(header):
    elements = []
    position = 0
    while position < len(header):
        if position + 2 > len(header):
            raise PDUError("truncated user data header")
        iei, size = header[position], header[position + 1]
        value = header[position + 2:position + 2 + size]
        if len(value) != size:
            raise PDUError("truncated user data header")
        elements.append((iei, bytes(value)))
        position += 2 + size
    return tuple(elements)


def _decode_user_data(first_octet, dcs, length, data):
    alphabet, message_class, compressed = _data_coding(dcs)
    has_header = bool(first_octet & 0x40)
    if alphabet == GSM7 and not compressed:
        if math.ceil(length * 7 / 8) > len(data):
            raise PDUError("the user data is shorter than its length")
        header, skip = (), 0
        if has_header and length:
            header_octets = data[0] + 1
            header = _parse_header(data[1:header_octets])
            skip = math.ceil(header_octets * 8 / 7)
            fill = skip * 7 - header_octets * 8
            septets = unpack_septets(data[header_octets:], length - skip, fill)
        else:
            septets = unpack_septets(data, length)
        return _UserData(alphabet, message_class, header, bytes(septets),
            decode_gsm7(septets))
    if length > len(data):
        raise PDUError("the user data is shorter than its length")
    body = data[:length]
    header = ()
    if has_header and length:
        header_octets = body[0] + 1
        header = _parse_header(body[1:header_octets])
        body = body[header_octets:]
    text = None
    if alphabet == UCS2 and not compressed:
        # Surrogate pairs split by a careless sender are mended when the
        # parts are assembled (from data)
        text = body.decode('utf-16-be', 'replace')
    return _UserData(alphabet, message_class, header, bytes(body), text)


class _Reader:
    "Reads the fields of a PDU one after another"

    def __init__(self, data):
        self.data = data
        self.position = 0

    def take(self, count):
        chunk = self.data[self.position:self.position + count]
        if len(chunk) != count:
            raise PDUError(
                f"the PDU ends at octet {len(self.data)}, "
                f"{self.position + count} expected")
        self.position += count
        return chunk

    def octet(self):
        return self.take(1)[0]

    def address(self):
        semi_octets, type_of_address = self.take(2)
        value = self.take(math.ceil(semi_octets / 2))
        return _decode_address_value(type_of_address, value, semi_octets), \
            type_of_address

    def smsc(self):
        size = self.octet()
        if not size:
            return None
        type_of_address, *value = self.take(size)
        return _decode_address_value(
            type_of_address, bytes(value), 2 * len(value)) or None

    def rest(self):
        return self.data[self.position:]


def decode(value, smsc=True):
    """Decode a received or stored PDU, given as hexadecimal text or bytes

    Return a Deliver, Submit or StatusReport; raise PDUError when the PDU
    cannot be read. smsc says whether the PDU starts with the service
    centre field, as AT+CMGL, AT+CMGR and +CDS give it.
    """
    reader = _Reader(_unhex(value))
    centre = reader.smsc() if smsc else None
    first_octet = reader.octet()
    kind = first_octet & 0x3
    if kind == _MTI_DELIVER:
        sender, sender_toa = reader.address()
        pid, dcs = reader.take(2)
        timestamp = decode_timestamp(reader.take(7))
        length = reader.octet()
        return Deliver(
            smsc=centre, sender=sender, sender_toa=sender_toa,
            timestamp=timestamp, pid=pid, dcs=dcs,
            user_data=_decode_user_data(first_octet, dcs, length,
                reader.rest()),
            status_report_indication=bool(first_octet & 0x20),
            more_messages=not first_octet & 0x4)
    if kind == _MTI_SUBMIT:
        reference = reader.octet()
        recipient, recipient_toa = reader.address()
        pid, dcs = reader.take(2)
        validity_format = (first_octet >> 3) & 0x3
        validity = None
        if validity_format == 2:
            validity = decode_relative_validity(reader.octet())
        elif validity_format == 3:
            validity = decode_timestamp(reader.take(7))
        elif validity_format == 1:
            reader.take(7)  # enhanced format: not used by this gateway
        length = reader.octet()
        return Submit(
            smsc=centre, message_reference=reference, recipient=recipient,
            recipient_toa=recipient_toa,
            status_report_request=bool(first_octet & 0x20),
            validity=validity, pid=pid, dcs=dcs,
            user_data=_decode_user_data(first_octet, dcs, length,
                reader.rest()),
            reject_duplicates=bool(first_octet & 0x4))
    if kind == _MTI_STATUS_REPORT:
        reference = reader.octet()
        recipient, recipient_toa = reader.address()
        timestamp = decode_timestamp(reader.take(7))
        discharge_time = decode_timestamp(reader.take(7))
        status = reader.octet()
        # Optional parameters (TS 23.040 9.2.2.3) carry nothing the gateway
        # needs, so they are not read.
        return StatusReport(
            smsc=centre, message_reference=reference, recipient=recipient,
            recipient_toa=recipient_toa, timestamp=timestamp,
            discharge_time=discharge_time, status=status)
    raise PDUError(f"reserved message type in first octet {first_octet:#04x}")


def status_state(status):
    """Whether a status report says delivered, pending or failed

    TS 23.040 9.2.3.15: 0x00-0x1F completed, 0x20-0x3F still trying, the
    rest permanent errors or temporary ones the centre gave up on;
    reserved values are read as the failures they border.
    """
    if status < 0x20:
        return DELIVERED
    if status < 0x40:
        return PENDING
    return FAILED


def status_reason(status):
    reason = _STATUS_REASONS.get(status)
    if reason is None:
        reason = {
            DELIVERED: "Delivered (service centre specific status)",
            PENDING: "The service centre is still trying",
            FAILED: "Delivery failed",
            }[status_state(status)]
        reason += f" ({status:#04x})"
    return reason


# Encoding

def _user_data_parts(text, reference, reference_bits, alphabet):
    "The alphabet, the parts and the concatenation reference of text"
    alphabet, chunks = split_text(text, reference_bits, alphabet)
    total = len(chunks)
    if total > 255:
        raise PDUError(f"a text of {total} parts is too long to send")
    if total > 1 and reference is None:
        reference = random.randrange(1 << reference_bits)
    parts = []
    for sequence, chunk in enumerate(chunks, 1):
        header = b''
        if total > 1:
            if reference_bits == 8:
                header = bytes([5, _IEI_CONCAT_8, 3,
                        reference & 0xFF, total, sequence])
            else:
                header = bytes([6, _IEI_CONCAT_16, 4,
                        (reference >> 8) & 0xFF, reference & 0xFF,
                        total, sequence])
        if alphabet == GSM7:
            header_septets = math.ceil(len(header) * 8 / 7)
            septets = gsm7_septets(chunk)
            data = header + pack_septets(
                septets, header_septets * 7 - len(header) * 8)
            length = header_septets + len(septets)
        else:
            data = header + chunk.encode('utf-16-be')
            length = len(data)
        parts.append((bool(header), length, data, chunk, sequence, total))
    return alphabet, parts, (reference if total > 1 else None)


def encode_submit(recipient, text, *, smsc=None, reference=None,
        reference_bits=8, status_report=False, validity=None,
        message_reference=0, message_class=None, ucs2=False,
        reject_duplicates=False):
    """The SMS-SUBMIT PDUs that send text to recipient

    recipient is an E.164 number (+8613812345678) or a national one;
    reference is the concatenation reference shared by the parts of a long
    text (random when not given, and returned on each PDU); validity is a
    timedelta (relative) or an aware datetime (absolute); ucs2 forces UCS2
    even for a text the default alphabet can carry.
    """
    alphabet, parts, reference = _user_data_parts(
        text, reference, reference_bits, UCS2 if ucs2 else None)
    centre = encode_smsc(smsc)
    destination = encode_address(recipient)
    if _ton(destination[1]) == _TON_ALPHANUMERIC:
        raise PDUError(f"cannot send to {recipient!r}")
    if validity is None:
        validity_format, validity_field = 0, b''
    elif isinstance(validity, datetime.timedelta):
        validity_format = 2
        validity_field = bytes([encode_relative_validity(validity)])
    else:
        validity_format, validity_field = 3, encode_timestamp(validity)
    pdus = []
    for has_header, length, data, chunk, sequence, total in parts:
        first_octet = (_MTI_SUBMIT | validity_format << 3
            | (0x04 if reject_duplicates else 0)
            | (0x20 if status_report else 0)
            | (0x40 if has_header else 0))
        tpdu = (bytes([first_octet, message_reference & 0xFF])
            + destination
            + bytes([0, _dcs(alphabet, message_class)])
            + validity_field + bytes([length]) + data)
        pdus.append(SubmitPDU(hex=_hex(centre + tpdu), length=len(tpdu),
                text=chunk, sequence=sequence, total=total,
                reference=reference))
    return pdus


def encode_deliver(sender, text, *, timestamp=None, smsc=None,
        reference=None, reference_bits=8, message_class=None, ucs2=False,
        status_report_indication=False):
    """The SMS-DELIVER PDUs a phone would receive for text from sender

    The simulated modem stores them; tests decode them.
    """
    if timestamp is None:
        timestamp = datetime.datetime.now(datetime.timezone.utc)
    alphabet, parts, _ = _user_data_parts(
        text, reference, reference_bits, UCS2 if ucs2 else None)
    head = encode_smsc(smsc)
    origin = encode_address(sender)
    stamp = encode_timestamp(timestamp)
    pdus = []
    for has_header, length, data, *_ in parts:
        first_octet = (_MTI_DELIVER | 0x04  # no more messages waiting
            | (0x20 if status_report_indication else 0)
            | (0x40 if has_header else 0))
        pdus.append(_hex(head + bytes([first_octet]) + origin
                + bytes([0, _dcs(alphabet, message_class)]) + stamp
                + bytes([length]) + data))
    return pdus


def encode_status_report(message_reference, recipient, *, status=0,
        timestamp, discharge_time, smsc=None):
    "The SMS-STATUS-REPORT a service centre sends for a message"
    return _hex(encode_smsc(smsc)
        + bytes([_MTI_STATUS_REPORT | 0x04, message_reference & 0xFF])
        + encode_address(recipient) + encode_timestamp(timestamp)
        + encode_timestamp(discharge_time) + bytes([status]))


# Reassembly

def concat_key(message):
    """What the parts of one concatenated message share, None for a single

    (sender, reference, total): the database keeps the parts under it until
    they are all there.
    """
    concat = message.concat
    if concat is None:
        return None
    return (message.sender, concat.reference, concat.total)


def assemble(parts):
    """Join the parts of a concatenated message received in any order

    A part received twice counts once. When parts are missing the text of
    those received is joined in order and complete is False: the caller
    decides when to give up waiting.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("no part to assemble")
    keys = {concat_key(p) for p in parts}
    if len(keys) != 1 or None in keys:
        raise ValueError("the parts are not of one concatenated message")
    (_, _, total), = keys
    by_sequence = {}
    for part in parts:
        by_sequence.setdefault(part.concat.sequence, part)
    ordered = [by_sequence[s] for s in sorted(by_sequence)]
    missing = tuple(s for s in range(1, total + 1) if s not in by_sequence)
    if any(p.text is None for p in ordered):
        text = None
    elif all(p.alphabet == UCS2 for p in ordered):
        text = b''.join(p.user_data.data for p in ordered).decode(
            'utf-16-be', 'replace')
    else:
        text = ''.join(p.text for p in ordered)
    return Assembly(text=text, complete=not missing, missing=missing)
