# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The worker: drives the modems for a bounded slice of time.

Each modem is driven by one worker at a time: on PostgreSQL a transaction
holds an advisory lock on it for the whole slice (several trytond-cron
processes or hosts may run the job); SQLite runs one worker.

The order of commits is what keeps messages whole:
- a received PDU is committed before it is deleted from the SIM; the digest
  of what is on the SIM finds it again after a crash;
- an outbound message is committed as sending, on its modem, before its
  PDU is written; a worker that finds such a message on the modem it just
  locked knows the previous one died and flags it for review.
"""
import datetime
import hashlib
import logging
import threading
import time
from collections import defaultdict
from itertools import chain

from sql import Literal, Null
from sql.conditionals import Coalesce
from sql.operators import Concat

from trytond import backend
from trytond.i18n import gettext
from trytond.modules.crm_customer.party import normalize_phone
from trytond.pool import Pool
from trytond.transaction import Transaction

from . import at, pdu
from .campaign import in_quiet_hours
from .message import naive_utc, utc_now

logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock(LOCK_CLASS, modem id): 'SMS' in ASCII
LOCK_CLASS = 0x534D53
# Outbound messages a modem sends before it looks at its SIM again
SEND_BATCH = 20
# Seconds a modem waits for a new message before it ends its slice
IDLE_WAIT = 1.0


def digest(value):
    return hashlib.sha1(value.upper().encode('ascii')).hexdigest()


def retry_delay(base, attempts, limit=3600):
    "The wait before the next attempt: doubling from base, up to limit"
    return datetime.timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), limit))


class _Stop(Exception):
    "The modem cannot be used any more in this slice"


class ModemRunner:
    "Drives one modem: receives what its SIM holds and sends the queue"

    def __init__(self, modem_id, deadline):
        self.modem_id = modem_id
        self.deadline = deadline
        self.session = None
        self.sent_times = []  # monotonic times of the parts sent lately
        self.sent = self.received = 0

    # Set-up and health

    def open(self):
        "Recover from a dead worker, open the session, read the health"
        pool = Pool()
        Modem = pool.get('crm.sms.modem')
        modem = Modem(self.modem_id)
        self.company = modem.company.id
        self.rate_limit = modem.rate_limit
        in_transaction(self._flag_orphans)
        try:
            self.session = at.Session.open(modem.port,
                baudrate=modem.baudrate, timeout=modem.command_timeout,
                send_timeout=3 * modem.command_timeout)
            self._initialize(modem)
            health = self._read_health()
        except Exception as error:
            self.fail(error)
            self.close()
            return False
        in_transaction(self._write_health, health)
        return True

    def _initialize(self, modem):
        # A PIN the SIM refused once is never tried again: a third try
        # would lock the SIM
        self.session.initialize(
            pin=modem.pin if not modem.pin_refused else None,
            smsc=modem.smsc, storage=modem.storage)

    def close(self):
        if self.session:
            try:
                self.session.close()
            except Exception:
                pass
            self.session = None

    def _read_health(self):
        health = {}
        readers = {
            'signal': lambda s: s.signal_quality().dbm,
            'registration': lambda s: str(s.registration()),
            'operator': lambda s: s.operator(),
            }
        for name, read in readers.items():
            try:
                health[name] = read(self.session)
            except at.CommandError:
                # Not every modem knows every query
                pass
        return health

    def _write_health(self, health):
        table = Pool().get('crm.sms.modem').__table__()
        cursor = Transaction().connection.cursor()
        values = dict(health, last_contact=utc_now(), consecutive_errors=0,
            retry_after=None)
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == self.modem_id))

    def fail(self, error):
        "Record what went wrong with the modem and leave it for a while"
        logger.warning("modem %s: %s", self.modem_id, error)
        in_transaction(self._write_failure, error)

    def _write_failure(self, error):
        pool = Pool()
        Modem = pool.get('crm.sms.modem')
        Configuration = pool.get('crm.configuration')
        table = Modem.__table__()
        cursor = Transaction().connection.cursor()
        modem = Modem(self.modem_id)
        failures = (modem.consecutive_errors or 0) + 1
        values = {
            'error_count': (modem.error_count or 0) + 1,
            'consecutive_errors': failures,
            'last_error': str(error)[:250],
            'last_error_date': utc_now(),
            'retry_after': utc_now() + retry_delay(
                Configuration(1).sms_modem_retry_delay, failures, 600),
            }
        if isinstance(error, at.PinError):
            values['pin_refused'] = True
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == self.modem_id))

    def _flag_orphans(self):
        "Messages left sending on this modem by a worker that died"
        Message = Pool().get('crm.sms.message')
        table = Message.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.state, table.review, table.error_text,
                    table.write_date],
                ['unconfirmed', True,
                    gettext('crm_sms_gateway.msg_worker_stopped_sending'),
                    utc_now()],
                where=(table.modem == self.modem_id)
                & (table.state == 'sending')))

    # One round

    def cycle(self):
        "Receive, then send a batch: return how much work was done"
        try:
            if self.session.reset_detected:
                self._initialize(Pool().get('crm.sms.modem')(self.modem_id))
            work = self.receive()
            work += self.send_batch()
            return work
        except _Stop:
            raise
        except Exception as error:
            self.fail(error)
            raise _Stop from error

    def wait(self, timeout=IDLE_WAIT):
        "Wait for the modem to say something new: True if it did"
        try:
            lines = self.session.poll(timeout)
        except Exception as error:
            self.fail(error)
            raise _Stop from error
        # Back in the queue: receive() reads them with the listing
        self.session.unsolicited.extend(lines)
        return bool(lines)

    # Inbound

    def receive(self):
        stored = self.session.list_messages(4)
        direct = [line.pdu for line in self.session.pop_unsolicited()
            if line.pdu and line.name in {'+CMT', '+CDS'}]
        if not stored and not direct:
            return 0
        saved = in_transaction(self._save_received, stored, direct)
        for message in stored:
            try:
                self.session.delete_message(message.index)
            except at.CommandError as error:
                if error.category != at.MESSAGE:
                    raise
        in_transaction(self._mark_deleted,
            [m.index for m in stored])
        self.received += saved
        return len(stored) + len(direct)

    def _save_received(self, stored, direct):
        "Write what the SIM holds and is not written yet: return how many"
        pool = Pool()
        ReceivedPDU = pool.get('crm.sms.pdu')
        table = ReceivedPDU.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.sim_index, table.digest,
                where=(table.modem == self.modem_id)
                & (table.on_sim == Literal(True))))
        known = {(index, value): id_ for id_, index, value in cursor}
        listed = {(m.index, digest(m.pdu)): m for m in stored}
        # Rows whose PDU was deleted by a worker that died before saying so
        gone = [id_ for key, id_ in known.items() if key not in listed]
        if gone:
            cursor.execute(*table.update([table.on_sim], [False],
                    where=table.id.in_(gone)))
        rows = [(m.pdu, m.index, key[1]) for key, m in listed.items()
            if key not in known]
        rows += [(value, None, digest(value)) for value in direct]
        if not rows:
            return 0
        messages = save_pdus(self.company, self.modem_id, rows)
        modem = pool.get('crm.sms.modem').__table__()
        cursor.execute(*modem.update(
                [modem.messages_received, modem.last_contact],
                [Coalesce(modem.messages_received, 0) + messages, utc_now()],
                where=modem.id == self.modem_id))
        return messages

    def _mark_deleted(self, indexes):
        table = Pool().get('crm.sms.pdu').__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.on_sim], [False],
                where=(table.modem == self.modem_id)
                & (table.on_sim == Literal(True))
                & table.sim_index.in_(indexes)))

    # Outbound

    def _room(self):
        "How many parts the rate limit lets go now"
        if not self.rate_limit:
            return None
        now = time.monotonic()
        self.sent_times = [t for t in self.sent_times if now - t < 60]
        return self.rate_limit - len(self.sent_times)

    def send_batch(self):
        done = 0
        # Quiet hours are read once a batch: a batch lasts well under a
        # minute, and reading the configuration per text halves the rate
        quiet = in_transaction(self._in_quiet_hours)
        # A text the modem took is recorded sent in the transaction that
        # claims the next one: it is committed before anything else goes
        # to the modem, with one commit a text instead of two
        sent = None
        try:
            while done < SEND_BATCH and time.monotonic() < self.deadline:
                room = self._room()
                if room is not None and room <= 0:
                    break
                claimed = in_transaction(self._record_and_claim, sent, quiet)
                sent = None
                if not claimed:
                    break
                record, error = self.send_one(claimed)
                done += 1
                if error is None:
                    sent = record
                    continue
                in_transaction(*record)
                if error.category in {at.MODEM, at.PIN, at.UNCONFIRMED}:
                    self.fail(error)
                    raise _Stop from error
        finally:
            if sent:
                in_transaction(*sent)
        return done

    def _record_and_claim(self, sent, quiet):
        if sent:
            write, *args = sent
            write(*args)
        return self._claim(quiet)

    def _in_quiet_hours(self):
        Company = Pool().get('company.company')
        return in_quiet_hours(Company(self.company))

    def _claim(self, quiet):
        """Mark the next queued message sending on this modem and return
        what sending it needs, read in SQL to keep the claim cheap"""
        pool = Pool()
        Message = pool.get('crm.sms.message')
        OptOut = pool.get('crm.sms.opt_out')
        table = Message.__table__()
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        now = utc_now()
        where = ((table.company == self.company)
            & (table.state == 'queued')
            & ((table.next_attempt == Null) | (table.next_attempt <= now))
            & ((table.scheduled == Null) | (table.scheduled <= now)))
        if quiet:
            where &= table.kind != 'marketing'
        while True:
            query = table.select(table.id, table.kind, table.number,
                table.body, table.parts_sent, table.concat_reference,
                table.message_references, table.attempts,
                where=where, order_by=[table.id.asc], limit=1)
            if database.has_select_for():
                query.for_ = database.get_select_for_skip_locked()('UPDATE')
            cursor.execute(*query)
            row = cursor.fetchone()
            if not row:
                return None
            (id_, kind, number, body, parts_sent, concat_reference,
                references, attempts) = row
            if (kind == 'marketing'
                    and OptOut.opted_out_numbers(self.company, [number])):
                cursor.execute(*table.update(
                        [table.state, table.error_text, table.write_date],
                        ['cancelled',
                            gettext('crm_sms_gateway.msg_number_opted_out'),
                            now],
                        where=table.id == id_))
                continue
            cursor.execute(*table.update(
                    [table.state, table.modem, table.attempts,
                        table.write_date],
                    ['sending', self.modem_id,
                        Coalesce(table.attempts, 0) + 1, now],
                    where=table.id == id_))
            return {
                'id': id_,
                'number': number,
                'body': body,
                'parts_sent': parts_sent or 0,
                'concat_reference': concat_reference,
                'references': [int(r) for r in
                    (references or '').split(',') if r],
                'attempts': (attempts or 0) + 1,
                }

    def send_one(self, message):
        """Send the message's parts; return the call that records the
        outcome with its arguments, and the modem's error if there was one"""
        parts = pdu.encode_submit(message['number'], message['body'],
            reference=message['concat_reference'], status_report=True)
        references = list(message['references'])
        sent = message['parts_sent']
        try:
            for part in parts[sent:]:
                references.append(self.session.send(part.hex, part.length))
                sent += 1
                self.sent_times.append(time.monotonic())
        except at.ModemError as error:
            return (self._write_send_error, message, sent,
                parts[0].reference, references, error), error
        self.sent += 1
        return (self._write_sent, message['id'], sent, parts[0].reference,
            references), None

    def _write_sent(self, message_id, parts, reference, references):
        pool = Pool()
        table = pool.get('crm.sms.message').__table__()
        modem = pool.get('crm.sms.modem').__table__()
        cursor = Transaction().connection.cursor()
        now = utc_now()
        cursor.execute(*table.update(
                [table.state, table.parts_sent, table.concat_reference,
                    table.message_references, table.sent_date,
                    table.error_code, table.error_text, table.write_date],
                ['sent', parts, reference, _references(references), now,
                    None, None, now],
                where=table.id == message_id))
        cursor.execute(*modem.update(
                [modem.messages_sent, modem.last_contact],
                [Coalesce(modem.messages_sent, 0) + parts, now],
                where=modem.id == self.modem_id))

    def _write_send_error(self, message, parts, reference, references,
            error):
        "Requeue with backoff, fail, or flag for review"
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        table = pool.get('crm.sms.message').__table__()
        cursor = Transaction().connection.cursor()
        configuration = Configuration(1)
        now = utc_now()
        values = {
            'parts_sent': parts,
            'concat_reference': reference,
            'message_references': _references(references),
            'error_code': (f'{error.kind} {error.code}'
                if getattr(error, 'code', None) is not None else None),
            'error_text': str(error)[:250],
            'write_date': now,
            }
        if error.category == at.UNCONFIRMED:
            values.update(state='unconfirmed', review=True)
        elif error.category in {at.MODEM, at.PIN}:
            # The modem's fault, not the text's: the attempt is given back
            # and another modem may take it at once
            values.update(state='queued', modem=None, next_attempt=now,
                attempts=message['attempts'] - 1)
        elif (error.category == at.MESSAGE
                or message['attempts'] >= configuration.sms_max_attempts):
            values.update(state='failed')
        else:
            values.update(state='queued', modem=None,
                next_attempt=now + retry_delay(
                    configuration.sms_retry_delay, message['attempts']))
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == message['id']))


def in_transaction(function, *args, attempts=5):
    "Run function in its own transaction and commit, retried on conflicts"
    for attempt in range(attempts):
        try:
            with Transaction().new_transaction() as transaction:
                result = function(*args)
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
            # A serialization failure or a deadlock: nothing was committed
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _references(references):
    return ','.join(map(str, references)) or None


def save_pdus(company, modem_id, rows):
    """Write received PDUs (hex, SIM index, digest) and what they make

    A whole message becomes a received crm.sms.message at once; the parts of
    a long one wait for each other; status reports update the message they
    report on. Return how many PDUs were messages or parts.
    """
    pool = Pool()
    ReceivedPDU = pool.get('crm.sms.pdu')
    records, decoded = [], []
    for value, index, value_digest in rows:
        try:
            message = pdu.decode(value)
        except (pdu.PDUError, ValueError):
            message = None
        kind = ('unreadable' if message is None
            else 'report' if isinstance(message, pdu.StatusReport)
            else 'deliver' if isinstance(message, pdu.Deliver)
            else 'unreadable')
        concat = message.concat if kind == 'deliver' else None
        records.append(ReceivedPDU(company=company, modem=modem_id,
                sim_index=index, on_sim=index is not None,
                digest=value_digest, pdu=value, kind=kind,
                sender=(message.sender if kind == 'deliver'
                    else message.recipient if kind == 'report' else None),
                concat_reference=concat.reference if concat else None,
                concat_total=concat.total if concat else None,
                concat_sequence=concat.sequence if concat else None))
        decoded.append(message)
    singles = [(r, m) for r, m in zip(records, decoded)
        if r.kind == 'deliver' and r.concat_total is None]
    if singles:
        # A whole text is its message at once, linked as its PDU is saved
        messages = create_inbound(company, modem_id,
            [(r.sender, 1, m.text or '', m.timestamp, True)
                for r, m in singles])
        for (record, _), message in zip(singles, messages):
            record.message = message
    ReceivedPDU.save(records)
    reports = [m for r, m in zip(records, decoded) if r.kind == 'report']
    if reports:
        apply_status_reports(modem_id, reports)
    keys = {(r.sender, r.concat_reference, r.concat_total) for r in records
        if r.kind == 'deliver' and r.concat_total is not None}
    if keys:
        assemble_parts(company, modem_id, keys)
    return sum(r.kind == 'deliver' for r in records)


def assemble_parts(company, modem_id, keys, give_up_before=None):
    """Make messages of the parts under keys that are all there

    Parts received before give_up_before make a message even when some
    never came: it is marked incomplete.
    """
    pool = Pool()
    ReceivedPDU = pool.get('crm.sms.pdu')
    table = ReceivedPDU.__table__()
    cursor = Transaction().connection.cursor()
    waiting = defaultdict(list)
    for sender, reference, total in keys:
        cursor.execute(*table.select(table.id, table.pdu, table.create_date,
                where=(table.sender == sender)
                & (table.concat_reference == reference)
                & (table.concat_total == total)
                & (table.message == Null) & (table.kind == 'deliver')
                & (table.modem == modem_id),
                order_by=[table.id.asc]))
        waiting[sender, reference, total] = cursor.fetchall()
    made = []
    for (sender, reference, total), rows in waiting.items():
        parts = [pdu.decode(value) for _, value, _ in rows]
        assembly = pdu.assemble(parts) if parts else None
        if assembly is None:
            continue
        first_date = min(d for _, _, d in rows)
        if not assembly.complete and (give_up_before is None
                or first_date > give_up_before):
            continue
        timestamps = [p.timestamp for p in parts if p.timestamp]
        made.append((ReceivedPDU.browse([i for i, _, _ in rows]), (sender,
                    len(rows), assembly.text or '',
                    min(timestamps) if timestamps else None,
                    assembly.complete)))
    if made:
        messages = create_inbound(company, modem_id,
            [item for _, item in made])
        ReceivedPDU.write(*chain.from_iterable(
                (list(records), {'message': message.id})
                for (records, _), message in zip(made, messages)))
    return len(made)


def create_inbound(company, modem_id, items):
    """Create and return received messages from (sender, parts, text,
    timestamp, complete), with the party of each known sender"""
    pool = Pool()
    Message = pool.get('crm.sms.message')
    Configuration = pool.get('crm.configuration')
    country = Configuration.phone_country_code()
    numbers = [normalize_phone(sender, country) or sender
        for sender, *_ in items]
    parties = Message.parties_by_number(numbers)
    now = utc_now()
    messages = [Message(company=company, direction='in',
            state='received', modem=modem_id, number=number,
            party=parties.get(number), body=text, parts=parts,
            incomplete=not complete, received_date=now,
            sender_timestamp=naive_utc(timestamp))
        for number, (_, parts, text, timestamp, complete)
        in zip(numbers, items)]
    Message.save(messages)
    return messages


def apply_status_reports(modem_id, reports):
    "Mark delivered or failed the messages the reports are about"
    pool = Pool()
    Message = pool.get('crm.sms.message')
    Configuration = pool.get('crm.configuration')
    table = Message.__table__()
    cursor = Transaction().connection.cursor()
    country = Configuration.phone_country_code()
    for report in reports:
        if report.state == pdu.PENDING:
            continue
        number = normalize_phone(report.recipient, country) \
            or report.recipient
        reference = str(report.message_reference)
        references = Concat(Concat(',', table.message_references), ',')
        cursor.execute(*table.select(table.id,
                where=(table.modem == modem_id) & (table.number == number)
                & (table.state == 'sent')
                & references.like(f'%,{reference},%'),
                order_by=[table.sent_date.desc, table.id.desc], limit=1))
        row = cursor.fetchone()
        if not row:
            continue
        if report.state == pdu.DELIVERED:
            values = {'state': 'delivered', 'delivered_date': (
                    naive_utc(report.discharge_time) or utc_now())}
        else:
            values = {'state': 'failed', 'error_text': report.reason}
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == row[0]))


def expire_parts():
    "Deliver, marked incomplete, the long texts whose parts stopped coming"
    pool = Pool()
    Configuration = pool.get('crm.configuration')
    table = pool.get('crm.sms.pdu').__table__()
    cursor = Transaction().connection.cursor()
    give_up_before = utc_now() - datetime.timedelta(
        minutes=Configuration(1).sms_part_timeout)
    cursor.execute(*table.select(table.company, table.modem, table.sender,
            table.concat_reference, table.concat_total,
            where=(table.message == Null)
            & (table.kind == 'deliver') & (table.concat_total != Null)
            & (table.create_date <= give_up_before),
            group_by=[table.company, table.modem, table.sender,
                table.concat_reference, table.concat_total]))
    by_modem = defaultdict(set)
    for company, modem_id, *key in cursor:
        by_modem[company, modem_id].add(tuple(key))
    return sum(assemble_parts(company, modem_id, keys, give_up_before)
        for (company, modem_id), keys in by_modem.items())


class Pass:
    """One slice of work: every free modem, and the received messages

    Runs inside a transaction (the cron's or a script's), whose database
    and user the modems' own transactions use.
    """

    def __init__(self, duration, modem_ids=None):
        self.deadline = time.monotonic() + duration
        self.modem_ids = modem_ids
        self.stats = defaultdict(int)

    def _modems(self):
        pool = Pool()
        Modem = pool.get('crm.sms.modem')
        now = utc_now()
        domain = [
            ('pin_refused', '!=', True),
            ['OR', ('retry_after', '=', None), ('retry_after', '<=', now)],
            ]
        if self.modem_ids is not None:
            domain.append(('id', 'in', self.modem_ids))
        return [m.id for m in Modem.search(domain, order=[('id', 'ASC')])]

    def run(self):
        modem_ids = self._modems()
        if backend.name == 'postgresql' and modem_ids:
            self._run_threads(modem_ids)
        else:
            self._run_sequential(modem_ids)
        self.stats['expired'] += in_transaction(expire_parts)
        self._process_received()
        return dict(self.stats)

    def _run_sequential(self, modem_ids):
        runners = []
        for modem_id in modem_ids:
            runner = ModemRunner(modem_id, self.deadline)
            if runner.open():
                runners.append(runner)
        try:
            while runners and time.monotonic() < self.deadline:
                work = 0
                for runner in list(runners):
                    try:
                        work += runner.cycle()
                    except _Stop:
                        runner.close()
                        runners.remove(runner)
                work += self._process_received()
                if not work:
                    break
        finally:
            for runner in runners:
                self._count(runner)
                runner.close()

    def _run_threads(self, modem_ids):
        transaction = Transaction()
        database_name = transaction.database.name
        user, context = transaction.user, dict(transaction.context)
        done = threading.Event()
        remaining = [len(modem_ids)]
        lock = threading.Lock()

        def drive(modem_id):
            try:
                with Transaction().start(database_name, user,
                        context=context) as holder:
                    cursor = holder.connection.cursor()
                    cursor.execute('SELECT pg_try_advisory_xact_lock(%s, %s)',
                        (LOCK_CLASS, modem_id))
                    if not cursor.fetchone()[0]:
                        return  # another worker drives it
                    self._drive(ModemRunner(modem_id, self.deadline))
            except Exception:
                logger.exception("modem %s", modem_id)
            finally:
                with lock:
                    remaining[0] -= 1
                    if not remaining[0]:
                        done.set()

        threads = [threading.Thread(target=drive, args=(i,), daemon=True,
                name=f'sms modem {i}') for i in modem_ids]
        for thread in threads:
            thread.start()
        # Meanwhile, act on what comes in: the replies go out in this slice
        while not done.is_set():
            if not self._process_received():
                done.wait(0.2)
        for thread in threads:
            thread.join()

    def _drive(self, runner):
        if not runner.open():
            return
        try:
            idle_since = None
            while time.monotonic() < self.deadline:
                if runner.cycle():
                    idle_since = None
                    continue
                if idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > 2 * IDLE_WAIT:
                    break
                runner.wait()
        except _Stop:
            pass
        finally:
            self._count(runner)
            runner.close()

    def _count(self, runner):
        self.stats['sent'] += runner.sent
        self.stats['received'] += runner.received

    def _process_received(self):
        pool = Pool()
        Message = pool.get('crm.sms.message')
        done = Message.process_received()
        self.stats['processed'] += done
        return done
