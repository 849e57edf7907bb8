# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Every short message in and out, and the raw PDUs read from the SIMs."""
import datetime
from collections import defaultdict
from itertools import chain

from sql import Null

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.modules.crm_customer.duplicate import parties_by_contact
from trytond.modules.crm_customer.party import normalize_phone
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from . import pdu
from .exceptions import SMSValidationError

DIRECTIONS = [
    ('out', "Outbound"),
    ('in', "Inbound"),
    ]
OUTBOUND_STATES = [
    ('queued', "Queued"),
    ('sending', "Sending"),
    ('sent', "Sent"),
    ('delivered', "Delivered"),
    ('failed', "Failed"),
    ('unconfirmed', "Unconfirmed"),
    ('cancelled', "Cancelled"),
    ]
INBOUND_STATES = [
    ('received', "Received"),
    ('processed', "Processed"),
    ('rejected', "Rejected"),
    ]
KINDS = [
    ('transactional', "Transactional"),
    ('marketing', "Marketing"),
    ]


def utc_now():
    "Now as trytond stores it: naive UTC, to the second"
    return naive_utc(datetime.datetime.now(datetime.timezone.utc))


def naive_utc(moment):
    "An aware datetime as trytond stores it, None stays None"
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


class Message(Workflow, ModelSQL, ModelView):
    "Short Message"
    __name__ = 'crm.sms.message'

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={'readonly': Eval('id', -1) >= 0})
    direction = fields.Selection(
        DIRECTIONS, "Direction", required=True, readonly=True)
    number = fields.Char(
        "Number", required=True,
        states={'readonly': Eval('state') != 'queued'},
        help="The other end's phone number, in E.164 form "
        "(+8613812345678) once saved.")
    party = fields.Many2One(
        'party.party', "Party", ondelete='SET NULL',
        states={'readonly': Eval('state') != 'queued'},
        context={'company': Eval('company', -1)}, depends={'company'})
    body = fields.Text(
        "Body", required=True,
        states={'readonly': Eval('state') != 'queued'},
        help="The whole text, also of messages sent or received in parts.")
    kind = fields.Selection(
        KINDS, "Kind", required=True,
        states={'readonly': Eval('state') != 'queued'},
        help="Marketing messages are never sent to numbers that opted out; "
        "transactional ones (replies, notifications) are.")
    state = fields.Selection(
        OUTBOUND_STATES + INBOUND_STATES, "State", required=True,
        readonly=True, sort=False)
    review = fields.Boolean(
        "To Review", readonly=True,
        help="The modem may have sent the message without confirming it: "
        "check with the recipient before sending it again.")
    modem = fields.Many2One(
        'crm.sms.modem', "Modem", readonly=True, ondelete='RESTRICT')
    parts = fields.Integer(
        "Parts", readonly=True,
        help="How many messages the text costs.")
    parts_sent = fields.Integer("Parts Sent", readonly=True)
    concat_reference = fields.Integer(
        "Concatenation Reference", readonly=True,
        help="The reference the parts of a long text share.")
    message_references = fields.Char(
        "Message References", readonly=True,
        help="The references the modem gave to each part sent, "
        "which status reports name.")
    attempts = fields.Integer("Attempts", readonly=True)
    next_attempt = fields.DateTime("Next Attempt", readonly=True)
    error_code = fields.Char("Error Code", readonly=True)
    error_text = fields.Char("Error", readonly=True)
    incomplete = fields.Boolean(
        "Incomplete", readonly=True,
        help="Some parts of the text never came.")
    scheduled = fields.DateTime(
        "Scheduled", states={'readonly': Eval('state') != 'queued'},
        help="Not sent before this time.")
    queued_date = fields.DateTime("Queued", readonly=True)
    sent_date = fields.DateTime("Sent", readonly=True)
    delivered_date = fields.DateTime("Delivered", readonly=True)
    received_date = fields.DateTime("Received", readonly=True)
    sender_timestamp = fields.DateTime(
        "Sender Timestamp", readonly=True,
        help="When the service centre took the message.")
    processed_date = fields.DateTime("Processed", readonly=True)
    command = fields.Char("Command", readonly=True)
    document = fields.Reference(
        "Document", selection='get_documents', readonly=True,
        help="What the message produced, or what it is about.")
    reply_to = fields.Many2One(
        'crm.sms.message', "Reply To", readonly=True, ondelete='SET NULL')
    replies = fields.One2Many(
        'crm.sms.message', 'reply_to', "Replies", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._sql_indexes.update({
                # What the worker claims
                Index(t, (t.company, Index.Equality()),
                    (t.id, Index.Range()),
                    where=(t.state == 'queued')),
                Index(t, (t.modem, Index.Equality()),
                    where=(t.state == 'sending')),
                Index(t, (t.id, Index.Range()),
                    where=(t.state == 'received')),
                # Per number: rate limits, replies, history on the customer
                Index(t, (t.number, Index.Equality()),
                    (t.direction, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.party, Index.Equality())),
                # Status reports find the message by its modem and reference
                Index(t, (t.modem, Index.Equality()),
                    (t.number, Index.Equality()),
                    where=(t.state == 'sent')),
                })
        cls._transitions |= {
            ('queued', 'cancelled'),
            ('failed', 'queued'),
            ('unconfirmed', 'queued'),
            ('unconfirmed', 'sent'),
            ('cancelled', 'queued'),
            ('rejected', 'received'),
            ('processed', 'received'),
            }
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'queued',
                    'depends': ['state'],
                    },
                'requeue': {
                    'invisible': ~Eval('state').in_(
                        ['failed', 'unconfirmed', 'cancelled']),
                    'icon': If(Eval('state') == 'cancelled',
                        'tryton-undo', 'tryton-refresh'),
                    'depends': ['state'],
                    },
                'confirm_sent': {
                    'invisible': Eval('state') != 'unconfirmed',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reprocess': {
                    'invisible': ~Eval('state').in_(['processed', 'rejected']),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_direction(cls):
        return 'out'

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_kind(cls):
        return 'transactional'

    @classmethod
    def default_review(cls):
        return False

    @classmethod
    def default_incomplete(cls):
        return False

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_parts_sent(cls):
        return 0

    @classmethod
    def _get_documents(cls):
        "The models a message can be about: modules add theirs"
        return ['crm.customer', 'crm.sms.opt_out']

    @classmethod
    def get_documents(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        models = cls._get_documents()
        return [(None, '')] + [(m, IrModel.get_name(m)) for m in models]

    def get_rec_name(self, name):
        # A record name is one line
        return f'{self.number}: {" ".join((self.body or "").split())[:40]}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('number', operator, value),
            ('body', operator, value),
            ]

    @classmethod
    def save_grouped(cls, messages):
        """Save the changes made to messages, with one write for all those
        changed the same way (the texts of a batch mostly get the same
        state, command and date); the changes must be plain values"""
        groups = defaultdict(list)
        for message in messages:
            changes = message._save_values()
            groups[tuple(sorted(changes.items()))].append(message)
        writes = [(group, dict(changes))
            for changes, group in groups.items() if changes]
        if writes:
            cls.write(*chain.from_iterable(writes))
        for message in messages:
            # Saved, as save() leaves them
            message._values = message._init_values = None

    @classmethod
    def parties_by_number(cls, numbers):
        """The party of each E.164 number among numbers that a party has,
        the oldest when several share it"""
        Party = Pool().get('party.party')
        found = parties_by_contact(
            phones=[n for n in numbers if n.startswith('+')])
        return {n: Party(min(ids)) for n, ids in found.items()}

    @classmethod
    def create(cls, vlist):
        vlist = [cls._prepare(dict(v)) for v in vlist]
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        args = []
        for messages, values in zip(actions, actions):
            if {'number', 'body'} & values.keys():
                if any(m.state != 'queued' for m in messages):
                    raise AccessError(gettext(
                            'crm_sms_gateway.msg_message_not_queued'))
                for message in messages:
                    merged = {
                        'direction': message.direction,
                        'number': message.number,
                        'body': message.body,
                        'company': message.company.id,
                        **values}
                    args.extend(([message], cls._prepare(merged)))
            else:
                args.extend((messages, values))
        super().write(*args)

    @classmethod
    def _prepare(cls, values):
        "Normalise the number and count the parts of an outbound message"
        if values.get('direction', cls.default_direction()) != 'out':
            return values
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        number = values.get('number') or ''
        e164 = normalize_phone(number, Configuration.phone_country_code())
        if not e164:
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_message_number_invalid',
                    number=number))
        values['number'] = e164
        body = values.get('body') or ''
        if not body.strip():
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_message_body_empty', number=e164))
        parts = pdu.count_parts(body)
        limit = Configuration(1).sms_max_parts
        if parts > limit:
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_message_too_long',
                    number=e164, parts=parts, limit=limit))
        values['parts'] = parts
        values.setdefault('state', 'queued')
        values.setdefault('queued_date', utc_now())
        return values

    @classmethod
    def copy(cls, messages, default=None):
        default = default.copy() if default is not None else {}
        for name in ['state', 'review', 'modem', 'parts_sent',
                'concat_reference', 'message_references', 'attempts',
                'next_attempt', 'error_code', 'error_text', 'sent_date',
                'delivered_date', 'queued_date', 'received_date',
                'sender_timestamp', 'processed_date', 'command', 'document',
                'replies', 'incomplete']:
            default.setdefault(name, None)
        default.setdefault('direction', 'out')
        return super().copy(messages, default=default)

    @classmethod
    def validate_fields(cls, messages, field_names):
        super().validate_fields(messages, field_names)
        if {'direction', 'state'} & field_names:
            inbound = dict(INBOUND_STATES)
            for message in messages:
                if (message.state in inbound) != (message.direction == 'in'):
                    raise SMSValidationError(gettext(
                            'crm_sms_gateway.msg_message_state_direction',
                            message=message.rec_name))

    @classmethod
    def delete(cls, messages):
        for message in messages:
            if message.state == 'sending':
                raise AccessError(gettext(
                        'crm_sms_gateway.msg_message_delete_sending',
                        message=message.rec_name))
        super().delete(messages)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, messages):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('queued')
    def requeue(cls, messages):
        "Send again: the messages to review were checked by someone"
        cls.write(messages, {
                'review': False,
                'attempts': 0,
                'next_attempt': None,
                'error_code': None,
                'error_text': None,
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('sent')
    def confirm_sent(cls, messages):
        "The recipient got the message: it is not sent again"
        cls.write(messages, {'review': False})

    @classmethod
    @ModelView.button
    @Workflow.transition('received')
    def reprocess(cls, messages):
        cls.write(messages, {
                'command': None,
                'document': None,
                'processed_date': None,
                'error_text': None,
                })

    @classmethod
    def send(cls, number, body, *, company=None, party=None,
            kind='transactional', document=None, reply_to=None,
            scheduled=None):
        """Queue a text to number: the worker sends it

        Returns the message; raises SMSValidationError for a number that is
        not one or a text too long.
        """
        company = company or Transaction().context.get('company')
        message, = cls.create([{
                    'company': int(company),
                    'direction': 'out',
                    'number': number,
                    'body': body,
                    'party': int(party) if party else None,
                    'kind': kind,
                    'document': str(document) if document else None,
                    'reply_to': int(reply_to) if reply_to else None,
                    'scheduled': scheduled,
                    }])
        return message


class ReceivedPDU(ModelSQL, ModelView):
    """Received PDU

    What a modem stored, written before it is deleted from the SIM: the
    parts of a long text wait here for each other, and a crash between the
    commit and the deletion finds its PDU again instead of saving it twice.
    """
    __name__ = 'crm.sms.pdu'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    modem = fields.Many2One(
        'crm.sms.modem', "Modem", required=True, readonly=True,
        ondelete='CASCADE')
    sim_index = fields.Integer("SIM Index", readonly=True)
    on_sim = fields.Boolean(
        "On SIM", readonly=True,
        help="Not deleted from the SIM yet.")
    digest = fields.Char("Digest", readonly=True)
    pdu = fields.Text("PDU", readonly=True)
    kind = fields.Selection([
            ('deliver', "Message"),
            ('report', "Status Report"),
            ('unreadable', "Unreadable"),
            ], "Kind", readonly=True)
    sender = fields.Char("Sender", readonly=True)
    concat_reference = fields.Integer("Concatenation Reference", readonly=True)
    concat_total = fields.Integer("Parts", readonly=True)
    concat_sequence = fields.Integer("Part", readonly=True)
    message = fields.Many2One(
        'crm.sms.message', "Message", readonly=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('id', 'DESC')]
        cls._sql_indexes.update({
                Index(t, (t.modem, Index.Equality()),
                    (t.sim_index, Index.Equality()),
                    where=(t.on_sim == Null) | (t.on_sim == True)),  # noqa
                Index(t, (t.sender, Index.Equality()),
                    (t.concat_reference, Index.Equality()),
                    (t.concat_total, Index.Equality()),
                    where=(t.message == Null) & (t.kind == 'deliver')),
                })
