# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""What customers ask by text: "CODE content" commands and opt-outs.

Each inbound message goes through the same steps: the sender is found by
the number (a number no one has becomes a prospect), the rate limit is
checked, the command is parsed, its action runs, and the reply is queued.
Modules add actions by extending crm.sms.command: a selection entry and a
method named handle_<action>(message, content) returning the reply text.
"""
import datetime
import re
import unicodedata
from collections import defaultdict

from sql import Literal, Null
from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import SMSValidationError
from .message import utc_now

# Between the keyword and its content: spaces and punctuation, half- or
# full-width (NFKC folds ：，to :,)
_SEPARATORS = ' \t\r\n:;,.-_#*/、。'
_KEYWORD_SPLIT = re.compile(r'[\s,;，；]+')
# Received messages handled per transaction
PROCESS_BATCH = 100


def normalize_text(text):
    "Fold full-width forms and case: ＣＸ and cx read as CX"
    return unicodedata.normalize('NFKC', text or '').strip().casefold()


def parse(text, keywords):
    """Split text into (keyword, content) with the longest keyword it starts
    with, keyword as given in keywords; (None, text) when none fits

    keywords are matched case-insensitively and in full or half width, with
    or without a separator before the content.
    """
    folded = normalize_text(text)
    best = None
    for keyword in keywords:
        key = normalize_text(keyword)
        if key and folded.startswith(key) and (
                best is None or len(key) > len(normalize_text(best))):
            best = keyword
    if best is None:
        return None, (text or '').strip()
    rest = unicodedata.normalize('NFKC', text or '').strip()
    rest = rest[len(normalize_text(best)):]
    return best, rest.lstrip(_SEPARATORS).strip()


class Command(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "SMS Command"
    __name__ = 'crm.sms.command'

    keywords = fields.Char(
        "Keywords", required=True,
        help="The codes that call the command, separated by spaces: "
        "CX 查询. Case and full-width forms do not matter.")
    action = fields.Selection('get_actions', "Action", required=True)
    description = fields.Char(
        "Description", translate=True, required=True,
        help="What the help reply says of the command.")

    @classmethod
    def get_actions(cls):
        return [
            ('help', "Help"),
            ('opt_out', "Opt Out"),
            ('opt_in', "Opt In"),
            ('account', "Account Summary"),
            ]

    @classmethod
    def validate_fields(cls, commands, field_names):
        super().validate_fields(commands, field_names)
        if 'keywords' in field_names or 'active' in field_names:
            cls.check_keywords()

    @classmethod
    def check_keywords(cls):
        "A keyword calls one command only"
        seen = {}
        for command in cls.search([]):
            for keyword in command.keyword_list:
                key = normalize_text(keyword)
                if key in seen and seen[key] != command:
                    raise SMSValidationError(gettext(
                            'crm_sms_gateway.msg_command_keyword_unique',
                            keyword=keyword,
                            command=seen[key].rec_name))
                seen[key] = command

    @property
    def keyword_list(self):
        return [k for k in _KEYWORD_SPLIT.split(self.keywords or '') if k]

    def get_rec_name(self, name):
        return self.keywords

    @classmethod
    def by_keyword(cls):
        "The active commands by each of their keywords"
        return {k: c for c in cls.search([]) for k in c.keyword_list}

    @classmethod
    def help_text(cls):
        "The list of commands, in the language of the context"
        lines = [gettext('crm_sms_gateway.msg_reply_help_header')]
        for command in cls.search([]):
            lines.append(f'{command.keyword_list[0]}: {command.description}')
        return '\n'.join(lines)

    # Actions: each returns the reply text (None for no reply)

    def handle_help(self, message, content):
        return self.help_text()

    def handle_opt_out(self, message, content):
        Pool().get('crm.sms.opt_out').set_opted_out(message, True)
        return gettext('crm_sms_gateway.msg_reply_opt_out',
            keyword=self.first_keyword('opt_in'))

    def handle_opt_in(self, message, content):
        Pool().get('crm.sms.opt_out').set_opted_out(message, False)
        return gettext('crm_sms_gateway.msg_reply_opt_in')

    @classmethod
    def first_keyword(cls, action):
        "The keyword to tell people for action"
        commands = cls.search([('action', '=', action)], limit=1)
        return commands[0].keyword_list[0] if commands else ''

    def handle_account(self, message, content):
        pool = Pool()
        Customer = pool.get('crm.customer')
        Sale = pool.get('sale.sale')
        Lang = pool.get('ir.lang')
        customers = Customer.search([
                ('party', '=', message.party.id),
                ('company', '=', message.company.id),
                ], limit=1) if message.party else []
        if not customers:
            return gettext('crm_sms_gateway.msg_reply_account_unknown')
        customer, = customers
        lang = Lang.get()
        currency = message.company.currency

        def amount(value):
            return lang.currency(value, currency)
        open_orders = Sale.search_count([
                ('party', '=', customer.party.id),
                ('company', '=', customer.company.id),
                ('state', 'in', ['quotation', 'confirmed', 'processing']),
                ])
        invoice = customer.last_invoice
        reply = gettext('crm_sms_gateway.msg_reply_account',
            receivable=amount(customer.receivable),
            overdue=amount(customer.overdue), orders=open_orders)
        if invoice:
            reply += gettext('crm_sms_gateway.msg_reply_account_invoice',
                number=invoice.number or '',
                date=lang.strftime(invoice.invoice_date)
                if invoice.invoice_date else '',
                amount=amount(invoice.total_amount))
        return reply


class OptOut(ModelSQL, ModelView):
    """SMS Opt-Out

    Kept per number, so it holds for senders who are not customers; the
    last word of the number decides.
    """
    __name__ = 'crm.sms.opt_out'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    number = fields.Char("Number", required=True, readonly=True)
    opted_out = fields.Boolean(
        "Opted Out", readonly=True,
        help="No marketing text goes to the number.")
    date = fields.DateTime("Date", readonly=True)
    message = fields.Many2One(
        'crm.sms.message', "Message", readonly=True, ondelete='SET NULL',
        help="The text that asked for it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.company, t.number),
                'crm_sms_gateway.msg_opt_out_number_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.number, Index.Equality()),
                where=t.opted_out == Literal(True)))

    def get_rec_name(self, name):
        return self.number

    @classmethod
    def set_opted_out(cls, message, opted_out):
        records = cls.search([
                ('company', '=', message.company.id),
                ('number', '=', message.number),
                ], limit=1)
        record = records[0] if records else cls(
            company=message.company, number=message.number)
        record.opted_out = opted_out
        record.date = utc_now()
        record.message = message
        record.save()
        return record

    @classmethod
    def opted_out_numbers(cls, company, numbers):
        "The numbers among numbers that opted out of company's texts"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.number,
                where=(table.company == int(company))
                & table.number.in_(list(numbers))
                & (table.opted_out == Literal(True))))
        return {n for n, in cursor}


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    @classmethod
    def process_received(cls, limit=None):
        """Act on received messages, in batches of their own transactions

        Return how many were handled.
        """
        from .worker import in_transaction
        done = 0
        while limit is None or done < limit:
            batch = in_transaction(cls._process_batch)
            if not batch:
                break
            done += batch
        return done

    @classmethod
    def _process_batch(cls):
        table = cls.__table__()
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        query = table.select(table.id,
            where=(table.state == 'received') & (table.direction == 'in'),
            order_by=[table.id.asc], limit=PROCESS_BATCH)
        if database.has_select_for():
            query.for_ = database.get_select_for_skip_locked()('UPDATE')
        cursor.execute(*query)
        messages = cls.browse([i for i, in cursor])
        if messages:
            cls.handle(messages)
        return len(messages)

    @classmethod
    def handle(cls, messages):
        "Identify the senders, parse, act, reply"
        pool = Pool()
        Command = pool.get('crm.sms.command')
        Configuration = pool.get('crm.configuration')
        configuration = Configuration(1)
        cls.identify_senders(messages)
        by_keyword = Command.by_keyword()
        counts = cls._recent_counts(messages, configuration)
        replies = []
        now = utc_now()
        for message in messages:
            inbound, replied = counts[message.company.id, message.number]
            inbound += 1
            counts[message.company.id, message.number] = inbound, replied
            message.processed_date = now
            if inbound > configuration.sms_number_rate_limit:
                message.state = 'rejected'
                message.error_text = gettext(
                    'crm_sms_gateway.msg_rate_limited',
                    limit=configuration.sms_number_rate_limit,
                    minutes=configuration.sms_rate_window)
                continue
            keyword, content = parse(message.body, by_keyword)
            command = by_keyword.get(keyword)
            with Transaction().set_context(
                    language=message.reply_language()):
                if command:
                    reply = getattr(command, 'handle_' + command.action)(
                        message, content)
                    message.command = command.action
                    message.state = 'processed'
                else:
                    reply = Command.help_text()
                    message.state = 'rejected'
                    message.error_text = gettext(
                        'crm_sms_gateway.msg_command_unknown')
            if reply and message.can_reply(replied, configuration):
                counts[message.company.id, message.number] = (
                    inbound, replied + 1)
                replies.append(cls(company=message.company, direction='out',
                        number=message.number, party=message.party,
                        body=reply, kind='transactional', reply_to=message))
        cls.save(messages)
        if replies:
            cls.save(replies)

    @classmethod
    def _recent_counts(cls, messages, configuration):
        """Inbound texts and replies per (company, number) in the rate window,
        before the messages being handled"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        since = utc_now() - datetime.timedelta(
            minutes=configuration.sms_rate_window)
        counts = defaultdict(lambda: (0, 0))
        by_company = defaultdict(set)
        for message in messages:
            by_company[message.company.id].add(message.number)
        for company, numbers in by_company.items():
            cursor.execute(*table.select(
                    table.number, table.direction, Count(table.id),
                    where=(table.company == company)
                    & table.number.in_(list(numbers))
                    & (table.create_date >= since)
                    & ~table.id.in_([m.id for m in messages])
                    & ((table.direction == 'in')
                        | (table.reply_to != Null)),
                    group_by=[table.number, table.direction]))
            for number, direction, count in cursor:
                inbound, replied = counts[company, number]
                counts[company, number] = ((inbound + count, replied)
                    if direction == 'in' else (inbound, replied + count))
        return counts

    def can_reply(self, replied, configuration):
        "No replies to names, nor endless ones to an auto-responder"
        return (self.number.startswith('+')
            and replied < configuration.sms_reply_limit)

    def reply_language(self):
        pool = Pool()
        Configuration = pool.get('ir.configuration')
        if self.party and self.party.lang:
            return self.party.lang.code
        if self.company.party.lang:
            return self.company.party.lang.code
        return Configuration.get_language()

    @classmethod
    def identify_senders(cls, messages):
        """Set the party of each sender: the one with the number, or a new
        prospect"""
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        unknown = [m for m in messages if not m.party]
        numbers = {m.number for m in unknown if m.number.startswith('+')}
        parties = {}
        if numbers:
            for mechanism in Mechanism.search([
                        ('value_compact', 'in', list(numbers)),
                        ('type', 'in', ['mobile', 'phone']),
                        ], order=[('party', 'ASC')]):
                parties.setdefault(mechanism.value_compact, mechanism.party)
        missing = defaultdict(list)
        for message in unknown:
            party = parties.get(message.number)
            if party:
                message.party = party
            elif message.number.startswith('+'):
                missing[message.company].append(message)
        for company, company_messages in missing.items():
            prospects = cls.create_prospects(
                company, sorted({m.number for m in company_messages}))
            for message in company_messages:
                message.party = prospects[message.number]

    @classmethod
    def create_prospects(cls, company, numbers):
        "Parties and prospect customers for numbers no one has"
        pool = Pool()
        Party = pool.get('party.party')
        Customer = pool.get('crm.customer')
        Source = pool.get('crm.source')
        ModelData = pool.get('ir.model.data')
        source = Source(ModelData.get_id('crm_sms_gateway', 'source_sms'))
        parties = Party.create([{
                    'name': number,
                    'contact_mechanisms': [('create', [{
                                    'type': 'mobile', 'value': number}])],
                    } for number in numbers])
        Customer.create([{
                    'party': p.id, 'company': company.id,
                    'customer_type': 'individual', 'source': source.id,
                    } for p in parties])
        return dict(zip(numbers, parties))
