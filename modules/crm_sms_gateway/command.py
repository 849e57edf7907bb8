# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""What customers ask by text: "CODE content" commands and opt-outs.

Each inbound message goes through the same steps: the sender is found by
the number (a number no one has becomes a prospect), the rate limit is
checked, the command is parsed, its action runs, and the reply is queued.
Modules add actions by extending crm.sms.command: a selection entry and a
method named handle_<action>(requests) that gets the (message, content)
pairs of a batch that called the command, all in the language of the
context, and returns their reply texts in the same order (None for no
reply); handling them together lets it read what it needs at once.
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
# Orders listed in an order status reply, the newest first
ORDERS_IN_REPLY = 3


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
    staff_only = fields.Boolean(
        "Staff Only",
        help="A command for employees: the help reply does not list it.")

    @classmethod
    def get_actions(cls):
        return [
            ('help', "Help"),
            ('opt_out', "Opt Out"),
            ('opt_in', "Opt In"),
            ('account', "Account Summary"),
            ('orders', "Order Status"),
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
        for command in cls.search([('staff_only', '!=', True)]):
            lines.append(f'{command.keyword_list[0]}: {command.description}')
        return '\n'.join(lines)

    # Actions

    def handle_help(self, requests):
        return [self.help_text()] * len(requests)

    def handle_opt_out(self, requests):
        Pool().get('crm.sms.opt_out').set_opted_out(
            [m for m, _ in requests], True)
        return [gettext('crm_sms_gateway.msg_reply_opt_out',
                keyword=self.first_keyword('opt_in'))] * len(requests)

    def handle_opt_in(self, requests):
        Pool().get('crm.sms.opt_out').set_opted_out(
            [m for m, _ in requests], False)
        return [gettext('crm_sms_gateway.msg_reply_opt_in')] * len(requests)

    @classmethod
    def first_keyword(cls, action):
        "The keyword to tell people for action"
        commands = cls.search([('action', '=', action)], limit=1)
        return commands[0].keyword_list[0] if commands else ''

    def handle_account(self, requests):
        pool = Pool()
        Customer = pool.get('crm.customer')
        Lang = pool.get('ir.lang')
        messages = [m for m, _ in requests]
        parties = {m.party.id for m in messages if m.party}
        # One list, so the balances are computed for all the senders at once
        customers = {(c.party.id, c.company.id): c for c in Customer.search([
                    ('party', 'in', list(parties)),
                    ('company', 'in', list({m.company.id for m in messages})),
                    ])}
        open_orders = self.open_orders(customers.keys())
        lang = Lang.get()
        replies = []
        for message in messages:
            customer = customers.get(
                (message.party.id if message.party else None,
                    message.company.id))
            if not customer:
                replies.append(gettext(
                        'crm_sms_gateway.msg_reply_account_unknown'))
                continue
            currency = customer.company.currency
            reply = gettext('crm_sms_gateway.msg_reply_account',
                receivable=lang.currency(customer.receivable, currency),
                overdue=lang.currency(customer.overdue, currency),
                orders=open_orders.get(
                    (customer.party.id, customer.company.id), 0))
            invoice = customer.last_invoice
            if invoice:
                reply += gettext('crm_sms_gateway.msg_reply_account_invoice',
                    number=invoice.number or '',
                    date=lang.strftime(invoice.invoice_date)
                    if invoice.invoice_date else '',
                    amount=lang.currency(invoice.total_amount, currency))
            replies.append(reply)
        return replies

    def handle_orders(self, requests):
        """The state of the sender's orders: those named in the content, or
        the last ones not done"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        parties = {m.party.id for m, _ in requests if m.party}
        sales = Sale.search([
                ('party', 'in', list(parties)),
                ('company', 'in', list({m.company.id for m, _ in requests})),
                ('state', 'not in', ['draft', 'cancelled']),
                ], order=[('sale_date', 'DESC'), ('id', 'DESC')])
        by_sender = defaultdict(list)
        for sale in sales:
            by_sender[sale.party.id, sale.company.id].append(sale)
        names = {f: dict(d['selection']) for f, d in Sale.fields_get(
                ['state', 'shipment_state', 'invoice_state']).items()}
        replies = []
        for message, content in requests:
            sender_sales = by_sender.get(
                (message.party.id if message.party else None,
                    message.company.id), [])
            wanted = {w.upper() for w in content.split()}
            if wanted:
                sender_sales = [s for s in sender_sales
                    if {(s.number or '').upper(),
                        (s.reference or '').upper()} & wanted]
            else:
                sender_sales = [s for s in sender_sales if s.state != 'done']
            if not sender_sales:
                replies.append(gettext('crm_sms_gateway.msg_reply_orders_none'))
                continue
            replies.append('\n'.join(
                    gettext('crm_sms_gateway.msg_reply_order',
                        order=' / '.join(filter(None, [s.number, s.reference])),
                        state=names['state'][s.state],
                        shipment=names['shipment_state'][s.shipment_state],
                        invoice=names['invoice_state'][s.invoice_state])
                    for s in sender_sales[:ORDERS_IN_REPLY]))
        return replies

    @classmethod
    def open_orders(cls, party_companies):
        "The number of open sales by (party, company)"
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale.__table__()
        cursor = Transaction().connection.cursor()
        counts = {}
        by_company = defaultdict(list)
        for party, company in party_companies:
            by_company[company].append(party)
        for company, parties in by_company.items():
            cursor.execute(*sale.select(
                    sale.party, Count(sale.id),
                    where=(sale.company == company)
                    & sale.party.in_(parties)
                    & sale.state.in_(['quotation', 'confirmed', 'processing']),
                    group_by=[sale.party]))
            counts.update(((p, company), c) for p, c in cursor)
        return counts


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
    def set_opted_out(cls, messages, opted_out):
        "Record the word of the senders of messages, the last one winning"
        now = utc_now()
        records = {}
        for message in messages:
            key = message.company.id, message.number
            if key not in records:
                existing = cls.search([
                        ('company', '=', message.company.id),
                        ('number', '=', message.number),
                        ], limit=1)
                records[key] = existing[0] if existing else cls(
                    company=message.company, number=message.number)
            record = records[key]
            record.opted_out = opted_out
            record.date = now
            record.message = message
        cls.save(list(records.values()))

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
        languages = cls.reply_languages(messages)
        # The messages to act on by command and reply language
        requests = defaultdict(list)
        now = utc_now()
        for message in messages:
            inbound, replied = counts[message.company.id, message.number]
            counts[message.company.id, message.number] = inbound + 1, replied
            message.processed_date = now
            if inbound + 1 > configuration.sms_number_rate_limit:
                message.state = 'rejected'
                message.error_text = gettext(
                    'crm_sms_gateway.msg_rate_limited',
                    limit=configuration.sms_number_rate_limit,
                    minutes=configuration.sms_rate_window)
                continue
            keyword, content = parse(message.body, by_keyword)
            command = by_keyword.get(keyword)
            if command:
                message.command = command.action
                message.state = 'processed'
            else:
                message.state = 'rejected'
            requests[command, languages[message]].append(
                (message, content))
        replies = []
        for (command, language), command_requests in requests.items():
            with Transaction().set_context(language=language):
                if command:
                    texts = getattr(command, 'handle_' + command.action)(
                        command_requests)
                else:
                    unknown = gettext('crm_sms_gateway.msg_command_unknown')
                    for message, _ in command_requests:
                        message.error_text = unknown
                    texts = [Command.help_text()] * len(command_requests)
            for (message, _), text in zip(command_requests, texts):
                inbound, replied = counts[message.company.id, message.number]
                if text and message.can_reply(replied, configuration):
                    counts[message.company.id, message.number] = (
                        inbound, replied + 1)
                    replies.append(cls(company=message.company,
                            direction='out', number=message.number,
                            party=message.party, body=text,
                            kind='transactional', reply_to=message))
        cls.save_grouped(messages)
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

    @classmethod
    def reply_languages(cls, messages):
        """Return the language of each message's reply: its party's, else
        its company's, else the server's; read for a batch at once, as a
        party's language is a value per company"""
        pool = Pool()
        Party = pool.get('party.party')
        PartyLang = pool.get('party.party.lang')
        Configuration = pool.get('ir.configuration')
        Lang = pool.get('ir.lang')
        parties = ({m.party.id for m in messages if m.party}
            | {m.company.party.id for m in messages})
        chosen = {}
        for value in PartyLang.search([
                    ('party', 'in', list(parties)),
                    ('lang', '!=', None),
                    ]):
            key = value.party.id, value.company.id if value.company else None
            chosen[key] = value.lang.code

        def language(party, company):
            return chosen.get((party.id, company.id), chosen.get(
                    (party.id, None)))

        defaults = {}
        for company in {m.company for m in messages}:
            default = Party.default_lang(company=company.id)
            defaults[company] = Lang(default).code if default else None
        server = Configuration.get_language()
        return {m: ((language(m.party, m.company) if m.party else None)
                or (defaults[m.company] if m.party else None)
                or language(m.company.party, m.company)
                or defaults[m.company]
                or server)
            for m in messages}

    @classmethod
    def identify_senders(cls, messages):
        """Set the party of each sender: the one with the number, or a new
        prospect"""
        unknown = [m for m in messages if not m.party]
        parties = cls.parties_by_number({m.number for m in unknown})
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
